"""Node shapes: what billing needs to know about a group of machines, whichever cloud resource declares it.

A cloud adapter (`servestack.costing.aws`, `servestack.costing.gcp`) reads one resource's inputs into a
`Reading` (raw values, possibly unknown during a preview); `finish` turns every reading into a `NodeGroup`
the same way for every cloud: catalog facts, capacity type, commitments, and why a shape cannot be priced.
The cost engine and the policies only ever see `NodeGroup`s, so they carry no per-cloud branches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from servestack.catalog import Catalog, InstanceFacts, PricingMode
from servestack.catalog.platform import platform_prices
from servestack.catalog.pricing import billed_mode
from servestack.costing.resources import MISSING, Resource, is_unknown

__all__ = [
    "COMMITMENT_PURCHASED_KEY",
    "PRICING_TAG",
    "CapacitySplit",
    "CloudAdapter",
    "Graph",
    "NodeGroup",
    "Reading",
    "commitment_purchased",
    "finish",
    "region_from_zone",
    "whole",
]

PRICING_TAG: Final = "servestack-pricing"
EXPECTED_NODES_LABEL: Final = "servestack-expected-nodes"
"""On a GKE pool sized by total autoscaling limits (which has no desired size): the nodes the plan expects at
average traffic, so the expected cost prices what the plan priced. AWS groups carry it as their desired size."""
"""Tag/label naming the billing mode a node group was planned with (on_demand, spot, 1y, 3y)."""

COMMITMENT_PURCHASED_KEY: Final = "servestack:commitmentPurchased"
"""Stack config key (bool): the 1y/3y commitment the plan priced has been bought (Savings Plan / CUD).

Commitments are billing constructs bought outside the stack, so a graph cannot show them; until the stack
says they are bought, committed node groups are priced on-demand, which is what the first bill will be.
"""

_PRICING_VALUES: dict[str, PricingMode] = {"on_demand": "on_demand", "spot": "spot", "1y": "1y", "3y": "3y"}

# Instance families that carry accelerators (AWS p/g/inf/trn/dl, GCP a2/a3/a4/g2/g4/ct TPU hosts).
_ACCELERATOR_FAMILIES = re.compile(r"^(ml\.)?(p\d|g\d|inf\d|trn\d|dl\d|vt\d|f\d|a2-|a3-|a4-|a4x-|g2-|g4-|ct\d)")
# Families known to carry none. Anything in neither list is an unknown type that may run accelerators.
_PLAIN_FAMILIES = re.compile(
    r"^(ml\.)?("
    r"(t2|t3|t3a|t4g|m4|m5|m5a|m5ad|m5d|m5dn|m5n|m5zn|m6a|m6g|m6gd|m6i|m6id|m6idn|m6in|m7a|m7g|m7gd|m7i|m7i-flex"
    r"|m8g|m8gd|c4|c5|c5a|c5ad|c5d|c5n|c6a|c6g|c6gd|c6gn|c6i|c6id|c6in|c7a|c7g|c7gd|c7gn|c7i|c7i-flex|c8g|c8gd"
    r"|r4|r5|r5a|r5ad|r5b|r5d|r5dn|r5n|r6a|r6g|r6gd|r6i|r6id|r6idn|r6in|r7a|r7g|r7gd|r7i|r7iz|r8g|r8gd"
    r"|x1|x1e|x2gd|x2idn|x2iedn|x2iezn|x8g|z1d|i3|i3en|i4g|i4i|i7ie|im4gn|is4gen|d2|d3|d3en|h1|a1|hpc6a|hpc7a"
    r"|hpc7g|mac1|mac2)\."
    r"|(e2|n1|n2|n2d|n4|c2|c2d|c3|c3d|c4|c4a|c4d|m1|m2|m3|m4|t2a|t2d|h3|h4d|z3|f1|g1)-)"
)


def whole(value: Any) -> int | None | Any:
    """A whole count from a number input (the engine sends floats; aws-native sends strings).

    UNKNOWN passes through; anything that is not a whole number is None.
    """
    if is_unknown(value):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


def region_from_zone(zone: object, pattern: re.Pattern[str]) -> str | None:
    if isinstance(zone, str):
        m = pattern.match(zone)
        if m:
            return m.group(1)
    return None


def commitment_purchased(stack_config: Mapping[str, Any]) -> bool:
    """True only for an explicit `servestack:commitmentPurchased: true` (Pulumi passes config as strings)."""
    value = stack_config.get(COMMITMENT_PURCHASED_KEY)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


@dataclass(frozen=True, slots=True)
class CapacitySplit:
    """A group whose first nodes run on-demand and the rest spot (EC2 Auto Scaling mixed instances, EC2 Fleet).

    `on_demand_base` nodes run on-demand, then `on_demand_percent_above_base` percent (0-100) of the nodes
    above the base; EC2 rounds the on-demand share up, so this does too.
    """

    on_demand_base: int
    on_demand_percent_above_base: float

    def on_demand_nodes(self, nodes: int) -> int:
        base = min(self.on_demand_base, nodes)
        above = nodes - base
        # Whole percent arithmetic first, so 30% of 10 is 3 and not 3.0000000000000004 rounded up to 4.
        share = above * self.on_demand_percent_above_base
        return base + int(-(-share // 100))


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """One group of machines as billing sees it; `problem` says why it cannot be priced (None when it can).

    Counts are nodes (machines, replicas of an endpoint): `nodes_expected` is the desired/target size,
    `nodes_max` the most it can scale to. Prices per node come from the bundled catalog by `cloud`, `region`
    and `instance_types` in `pricing_mode` (spot nodes of a `split` group at the spot price).
    """

    resource: Resource
    cloud: str
    instance_type: str | None
    instance_types: tuple[str, ...]
    region: str | None
    spot: bool | None
    """True when every node runs spot, False when the on-demand part is not empty, None when unknown."""
    pricing_mode: PricingMode | None
    """Price of the non-spot nodes: on_demand, or 1y/3y when a commitment is bought; spot when all are spot."""
    pricing_note: str | None
    nodes_min: int | None
    nodes_expected: int | None
    nodes_max: int | None
    facts: InstanceFacts | None
    accelerator: str | None
    accelerators_per_node: int | None
    is_gpu: bool | None
    """True when it runs accelerators, False when it is known not to, None when that cannot be told."""
    volume_gib_per_node: float | None
    volume_problem: str | None
    problem: str | None
    """First reason the group cannot be priced (unknown input, unknown type, no bundled price), else None."""
    preview_unknown: bool
    """True when `problem` comes from a value a preview does not know yet."""
    kind: str = "node group"
    """What declares it, for messages: "EKS node group", "Auto Scaling group", "GCE instance", ..."""
    zones: int | None = None
    split: CapacitySplit | None = None
    part: str = ""
    """Which part of a resource that declares several groups (a SageMaker production variant), else ""."""
    committed_mode: PricingMode | None = None
    """The 1y/3y commitment the group was planned with, whether or not it is priced as bought."""
    volume_extras_usd: float = 0.0
    """USD/month per node for volume throughput/IOPS provisioned above the free baseline (AWS gp3)."""

    @property
    def may_run_accelerators(self) -> bool:
        """Runs accelerators, or cannot be told not to (an unknown instance type)."""
        return self.is_gpu is not False

    @property
    def label(self) -> str:
        return f"{self.resource.name}[{self.part}]" if self.part else self.resource.name


@dataclass(slots=True)
class Reading:
    """What an adapter read from one resource, before catalog lookups (values may be UNKNOWN or MISSING)."""

    resource: Resource
    cloud: str
    kind: str
    part: str = ""
    instance_types: Any = MISSING
    """A list of instance type names, UNKNOWN, or MISSING."""
    counts: tuple[Any, Any, Any] = (MISSING, MISSING, MISSING)
    """(min, expected, max) nodes: numbers, UNKNOWN or MISSING."""
    spot: bool | None = False
    split: CapacitySplit | None = None
    pricing_tag: str | None = None
    region: str | None = None
    zones: int | None = None
    accelerator: str | None = None
    accelerators_per_node: int | None = None
    """Accelerators attached by the resource itself (GCP guestAccelerators, Vertex machineSpec)."""
    runs_accelerators: bool = False
    """The inputs say accelerators are attached (a GPU AMI, guestAccelerators) whatever the instance type."""
    facts_type: str | None = None
    """Catalog name of the instance type when the resource spells it differently (SageMaker's ml.*)."""
    unpriced: str | None = None
    """Why this kind is never priced from the catalog (SageMaker/Vertex hosting prices), else None."""
    volume_gib_per_node: float | None = None
    volume_problem: str | None = None
    volume_extras_usd: float = 0.0
    """USD/month per node for volume performance provisioned above the free baseline (gp3 throughput, IOPS)."""
    problems: list[tuple[str, bool]] = field(default_factory=list)

    def fail(self, reason: str, *, preview: bool = False) -> None:
        self.problems.append((reason, preview))


@dataclass(frozen=True, slots=True)
class Graph:
    """The whole graph an adapter may consult: other resources by URN, who depends on whom, stack config."""

    catalog: Catalog
    by_urn: Mapping[str, Resource]
    config: Mapping[str, Any]
    region: str | None = None
    """Region for resources whose provider names none (overrides the stack config's)."""
    dependents: Mapping[str, Sequence[Resource]] = field(default_factory=dict)

    def dependencies_of(self, r: Resource, *types: str) -> list[Resource]:
        found = [self.by_urn[d] for d in r.dependencies if d in self.by_urn]
        return [d for d in found if not types or d.type in types]

    def dependents_of(self, r: Resource, *types: str) -> list[Resource]:
        return [d for d in self.dependents.get(r.urn, ()) if not types or d.type in types]

    def config_str(self, key: str) -> str | None:
        value = self.config.get(key)
        return value if isinstance(value, str) and value else None


class CloudAdapter(Protocol):
    """Reads the machine groups of one cloud's resource types; the engine asks every adapter the same way."""

    @property
    def cloud(self) -> str: ...

    @property
    def resource_types(self) -> frozenset[str]: ...

    def read(self, r: Resource, graph: Graph) -> list[Reading]:
        """One reading per group of machines the resource runs (usually one)."""
        ...


def _pricing(spot: bool | None, tag: str | None, purchased: bool,
             ) -> tuple[PricingMode | None, str | None, str | None, PricingMode | None]:
    """(mode of the non-spot nodes, note for people, problem, planned commitment)."""
    if spot is None:
        return None, None, None, None
    mode = _PRICING_VALUES.get(tag) if tag is not None else None
    if tag is not None and mode is None:
        return None, None, f"{PRICING_TAG}={tag!r} is not one of {', '.join(_PRICING_VALUES)}", None
    if spot:
        note = None if mode in (None, "spot") else f"{PRICING_TAG}={tag} ignored: capacity is spot"
        return "spot", note, None, None
    if mode == "spot":
        return "on_demand", f"{PRICING_TAG}=spot ignored: capacity is on-demand", None, None
    if mode in ("1y", "3y"):
        billed = billed_mode(mode, purchased)
        if billed == mode:
            return mode, f"{mode} commitment priced as bought ({COMMITMENT_PURCHASED_KEY} is true)", None, mode
        return billed, (
            f"planned with a {mode} commitment but priced on-demand: {COMMITMENT_PURCHASED_KEY} is not true in the "
            "stack config, so the commitment is not counted as bought"
        ), None, mode
    return "on_demand", None, None, None


def _classify(instance_type: str | None, facts: InstanceFacts | None, reading: Reading) -> bool | None:
    if facts is not None or reading.accelerator is not None:
        return True
    if instance_type is None:
        return None
    if reading.runs_accelerators:
        return True
    if instance_type == platform_prices(reading.cloud).system_node_instance_type:
        return False
    if _ACCELERATOR_FAMILIES.match(instance_type):
        return True
    if _PLAIN_FAMILIES.match(instance_type):
        return False
    return None


def finish(reading: Reading, graph: Graph) -> NodeGroup:
    """The NodeGroup of a reading: catalog facts, capacity, commitments and the first reason it cannot be priced."""
    problems = list(reading.problems)
    raw = reading.instance_types
    instance_types: tuple[str, ...] = ()
    if is_unknown(raw) or (isinstance(raw, list) and any(is_unknown(t) for t in raw)):
        problems.append(("instance type unknown during preview", True))
    elif isinstance(raw, list) and raw and all(isinstance(t, str) and t for t in raw):
        instance_types = tuple(raw)
    elif not any(not preview for _, preview in problems):
        problems.append(("no instance type given (the provider default is not priced)", False))
    instance_type = instance_types[0] if instance_types else None

    ints = [whole(c) if c is not MISSING else None for c in reading.counts]
    lo: int | None
    want: int | None
    hi: int | None
    if any(is_unknown(c) for c in ints):
        problems.append(("node counts unknown during preview", True))
        lo = want = hi = None
    else:
        lo, want, hi = (c if isinstance(c, int) else None for c in ints)
        if hi is None:
            problems.append(("no maximum node count", False))
        elif want is None:
            problems.append(("no desired node count", False))

    facts_name = reading.facts_type or instance_type
    facts = graph.catalog.instance_facts(reading.cloud, facts_name) if facts_name else None
    # The catalog's facts of a machine series with built-in accelerators (a3, g2) win over what is attached.
    accelerator = facts.accelerator if facts else reading.accelerator
    per_node = facts.accelerators_per_node if facts else reading.accelerators_per_node
    mode, note, pricing_problem, committed = _pricing(reading.spot, reading.pricing_tag,
                                                      commitment_purchased(graph.config))
    if pricing_problem is not None:
        problems.append((pricing_problem, False))
    if reading.region is None:
        problems.append(("region unknown (no provider region, zone or stack config region)", False))
    if reading.unpriced is not None:
        problems.append((reading.unpriced, False))
    is_gpu = _classify(instance_type, facts, reading)
    # A problem that is final outranks one a later preview may resolve: it is what the user must fix.
    ordered = sorted(problems, key=lambda p: p[1])
    first = ordered[0] if ordered else None
    return NodeGroup(
        resource=reading.resource,
        cloud=reading.cloud,
        instance_type=instance_type,
        instance_types=instance_types,
        region=reading.region,
        spot=reading.spot,
        pricing_mode=mode,
        pricing_note=note,
        nodes_min=lo,
        nodes_expected=want,
        nodes_max=hi,
        facts=facts,
        accelerator=accelerator,
        accelerators_per_node=per_node,
        is_gpu=is_gpu,
        volume_gib_per_node=reading.volume_gib_per_node,
        volume_problem=reading.volume_problem,
        problem=first[0] if first else None,
        preview_unknown=first[1] if first else False,
        kind=reading.kind,
        zones=reading.zones,
        split=reading.split,
        part=reading.part,
        committed_mode=committed,
        volume_extras_usd=reading.volume_extras_usd,
    )
