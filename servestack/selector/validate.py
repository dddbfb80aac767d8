"""Checks of a spec against the catalog: names the spec cannot check by itself (accelerators, regions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.workload import WorkloadSpec

__all__ = ["ResolvedPlacement", "resolve_placement"]


class ResolvedPlacement:
    """The spec's placement with every name made canonical."""

    __slots__ = ("clouds", "regions", "allowed", "denied", "measured_accelerators")

    def __init__(
        self,
        clouds: frozenset[str],
        regions: frozenset[tuple[str, str]] | None,
        allowed: frozenset[str] | None,
        denied: frozenset[str],
        measured_accelerators: dict[str, int],
    ) -> None:
        self.clouds = clouds
        self.regions = regions
        """(cloud, region) pairs allowed, None for any."""
        self.allowed = allowed
        self.denied = denied
        self.measured_accelerators = measured_accelerators
        """Canonical accelerator id -> index into model.measured.throughput."""


def resolve_placement(spec: WorkloadSpec, catalog: Catalog) -> ResolvedPlacement:
    """Canonicalise accelerator and region names; raises SpecError (with did-you-mean) on unknown ones."""
    from servestack.catalog.types import CLOUDS
    from servestack.errors import SpecError

    placement = spec.placement
    clouds = frozenset(placement.clouds)
    regions: set[tuple[str, str]] | None = None
    if placement.regions:
        regions = set()
        for i, region in enumerate(placement.regions):
            field = f"placement.regions[{i}]"
            # Canonical spelling first (regions are case-insensitive, as in `servestack catalog --region`);
            # an unknown name raises here with the nearest real region.
            canonical = catalog.resolve_region(None, region, field=field)
            matches = [c for c in sorted(clouds) if canonical in catalog.regions(c)]
            if not matches:
                owners = [c for c in CLOUDS if canonical in catalog.regions(c)]
                raise SpecError(
                    field, region, f"that region is on {', '.join(owners)}, outside placement.clouds {sorted(clouds)}"
                )
            regions.update((c, canonical) for c in matches)
    allowed = (
        frozenset(
            catalog.resolve_accelerator(a, field=f"placement.accelerators_allowed[{i}]")
            for i, a in enumerate(placement.accelerators_allowed)
        )
        if placement.accelerators_allowed
        else None
    )
    denied = frozenset(
        catalog.resolve_accelerator(a, field=f"placement.accelerators_denied[{i}]")
        for i, a in enumerate(placement.accelerators_denied)
    )
    measured: dict[str, int] = {}
    if spec.model.measured is not None:
        for i, point in enumerate(spec.model.measured.throughput):
            acc = catalog.resolve_accelerator(point.accelerator, field=f"model.measured.throughput[{i}].accelerator")
            measured[acc] = i
    return ResolvedPlacement(
        clouds, frozenset(regions) if regions is not None else None, allowed, denied, measured
    )
