"""The in-memory catalog: accelerators, per-type facts and priced offerings, with lookups.

Built from the bundled data files by `servestack.catalog.load.load_catalog`, or from records
directly with `Catalog.from_offerings` (synthetic catalogs in tests and benchmarks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from servestack.catalog.types import CLOUDS, Accelerator, Offering
from servestack.errors import SpecError, did_you_mean

__all__ = ["Catalog", "InstanceFacts"]


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    """Facts of one instance type on one cloud, independent of region and price.

    Lets costing price a node group by instance type alone (memory in GiB, network in Gbit/s).
    """

    cloud: str
    instance_type: str
    accelerator: str
    """Canonical accelerator id."""
    accelerators_per_node: int
    accelerator_memory_gib: float
    vcpus: int
    memory_gib: float
    local_nvme_gib: float
    multi_node_network: str | None
    network_gbps: float
    gcp_accelerator_type: str | None
    source: str
    as_of: str


def _norm(name: str) -> str:
    """Lookup key for accelerator names: case, spaces, underscores and hyphens do not matter (`A 100`, `l40_s`)."""
    return "".join(ch for ch in name.lower() if ch not in " _-\t")


class Catalog:
    """Accelerators by canonical id and every (cloud, region, instance type) offering."""

    __slots__ = ("as_of", "accelerators", "offerings", "_alias", "_regions", "_by_key", "_facts", "_gcp_types")

    def __init__(
        self,
        accelerators: Mapping[str, Accelerator],
        offerings: Iterable[Offering],
        as_of: str,
        instance_facts: Iterable[InstanceFacts] = (),
    ) -> None:
        self.as_of: str = as_of
        self.accelerators: dict[str, Accelerator] = dict(accelerators)
        self.offerings: tuple[Offering, ...] = tuple(offerings)
        self._alias: dict[str, str] = {}
        for acc in self.accelerators.values():
            self._alias[_norm(acc.id)] = acc.id
            for alias in acc.aliases:
                self._alias[_norm(alias)] = acc.id
        self._regions: dict[str, tuple[str, ...]] = {}
        by_cloud: dict[str, set[str]] = {c: set() for c in CLOUDS}
        self._by_key: dict[tuple[str, str, str], Offering] = {}
        for off in self.offerings:
            by_cloud.setdefault(off.cloud, set()).add(off.region)
            self._by_key[(off.cloud, off.region, off.instance_type)] = off
        for cloud, regions in by_cloud.items():
            self._regions[cloud] = tuple(sorted(regions))
        self._facts: dict[tuple[str, str], InstanceFacts] = {}
        for facts in instance_facts:
            self._facts[(facts.cloud, facts.instance_type)] = facts
        # Offerings imply facts too, so synthetic catalogs need no separate facts list.
        for off in self.offerings:
            key = (off.cloud, off.instance_type)
            if key not in self._facts:
                self._facts[key] = InstanceFacts(
                    cloud=off.cloud,
                    instance_type=off.instance_type,
                    accelerator=off.accelerator,
                    accelerators_per_node=off.accelerators_per_node,
                    accelerator_memory_gib=off.accelerator_memory_gib,
                    vcpus=off.vcpus,
                    memory_gib=off.memory_gib,
                    local_nvme_gib=off.local_nvme_gib,
                    multi_node_network=off.multi_node_network,
                    network_gbps=off.network_gbps,
                    gcp_accelerator_type=None,
                    source=off.source,
                    as_of=off.as_of,
                )
        self._gcp_types: dict[str, str] = {}
        for facts in self._facts.values():
            if facts.gcp_accelerator_type:
                self._gcp_types[facts.gcp_accelerator_type.lower()] = facts.accelerator

    @classmethod
    def from_offerings(
        cls,
        accelerators: Mapping[str, Accelerator] | Iterable[Accelerator],
        offerings: Iterable[Offering],
        as_of: str,
        instance_facts: Iterable[InstanceFacts] = (),
    ) -> Catalog:
        """A catalog from records in memory (no file, no validation beyond the lookups)."""
        accs = dict(accelerators) if isinstance(accelerators, Mapping) else {a.id: a for a in accelerators}
        return cls(accs, offerings, as_of, instance_facts)

    # -- accelerators -------------------------------------------------------------------------

    def resolve_accelerator(self, name: str, field: str = "accelerator") -> str:
        """Canonical id for a canonical id or alias (any case); SpecError naming `field` otherwise."""
        found = self._alias.get(_norm(name))
        if found is not None:
            return found
        choices = sorted(self.accelerators)
        hint = did_you_mean(name, [*choices, *sorted(self._alias)])
        if hint:
            # The hint may name an alias; show the canonical id it stands for.
            alias = hint.split("'")[1]
            hint = f" (did you mean {self._alias.get(_norm(alias), alias)!r}?)"
        raise SpecError(field, name, f"allowed: {', '.join(choices)}{hint}")

    def accelerator_for_gcp_type(self, gcp_accelerator_type: str) -> str | None:
        """Canonical id for a GCP accelerator type name (nvidia-l4, nvidia-h100-80gb, ...), None if unknown."""
        found = self._gcp_types.get(gcp_accelerator_type.strip().lower())
        if found is not None:
            return found
        return self._alias.get(_norm(gcp_accelerator_type))

    # -- regions ------------------------------------------------------------------------------

    def regions(self, cloud: str | None = None) -> list[str]:
        """Regions with at least one offering, sorted; of one cloud or of all."""
        if cloud is not None:
            return list(self._regions.get(cloud, ()))
        return sorted({r for regions in self._regions.values() for r in regions})

    def resolve_region(self, cloud: str | None, region: str, field: str = "region") -> str:
        """The region as the catalog spells it; SpecError with the known regions otherwise."""
        known = self.regions(cloud)
        wanted = region.strip().lower()
        for name in known:
            if name.lower() == wanted:
                return name
        where = f" on {cloud}" if cloud else ""
        hint = did_you_mean(region, known)
        raise SpecError(field, region, f"regions{where} in the catalog: {', '.join(known)}{hint}")

    def resolve_cloud(self, cloud: str, field: str = "cloud") -> str:
        wanted = cloud.strip().lower()
        if wanted in CLOUDS:
            return wanted
        raise SpecError(field, cloud, f"allowed: {', '.join(CLOUDS)}{did_you_mean(cloud, CLOUDS)}")

    # -- offerings ----------------------------------------------------------------------------

    def without_estimated_commitments(self) -> Catalog:
        """This catalog with every estimated (fallback-ratio) 1y/3y price removed, to show how much a plan
        depends on them."""
        offerings = [
            replace(
                o,
                price_1y=None if o.price_1y_estimated else o.price_1y,
                price_3y=None if o.price_3y_estimated else o.price_3y,
            )
            for o in self.offerings
        ]
        return Catalog(self.accelerators, offerings, self.as_of, self._facts.values())

    def filter(
        self, cloud: str | None = None, accelerator: str | None = None, region: str | None = None
    ) -> list[Offering]:
        """Offerings matching every given criterion; unknown values raise SpecError."""
        want_cloud = self.resolve_cloud(cloud) if cloud is not None else None
        want_acc = self.resolve_accelerator(accelerator) if accelerator is not None else None
        want_region = self.resolve_region(want_cloud, region) if region is not None else None
        return [
            off
            for off in self.offerings
            if (want_cloud is None or off.cloud == want_cloud)
            and (want_acc is None or off.accelerator == want_acc)
            and (want_region is None or off.region == want_region)
        ]

    def find_offering(self, cloud: str, region: str, instance_type: str) -> Offering | None:
        return self._by_key.get((cloud, region, instance_type))

    def instance_facts(self, cloud: str, instance_type: str) -> InstanceFacts | None:
        """Per-type facts (accelerators, vCPUs, memory, network), None for an unknown type."""
        return self._facts.get((cloud, instance_type))

    def instance_types(self, cloud: str | None = None) -> list[InstanceFacts]:
        return [f for f in self._facts.values() if cloud is None or f.cloud == cloud]

    def __repr__(self) -> str:
        return f"Catalog(as_of={self.as_of!r}, accelerators={len(self.accelerators)}, offerings={len(self.offerings)})"
