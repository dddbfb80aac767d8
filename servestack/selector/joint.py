"""A joint plan: several workloads served from one cluster, against one cluster per workload.

Objective: the lowest expected monthly cost of the whole environment. One cluster puts every workload in one
cloud, region and set of zones, so the shared platform (control plane, NAT, system nodes;
`servestack.catalog.platform`) is paid once. Each model server keeps its own load balancer (the program gives
every server its own endpoint), so that stays with the workload. Separate clusters let each workload take its
own cheapest stack anywhere, each paying the shared platform itself. The joint plan prices both and keeps the
cheaper.

Per region, each workload takes its cheapest feasible candidate whose zones hold the region's chosen zone
set (every server of one cluster runs in the same zones, see docs of `servestack.contract.fleet`). A
candidate's expected cost is its GPU nodes and volumes plus the platform of a cluster of its own; in the
joint sum its own platform is taken out and the platform of the combined cluster (all workloads' GPU nodes
behind one NAT) is added once, so both totals use the same pricing function as `servestack plan`.

Zones: one cluster spans one zone set, so every workload is planned with the largest `availability.zones`
any of them asks for (a workload asking for fewer gets more: its floor is spread wider).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from servestack.catalog.platform import HOURS_PER_MONTH, platform_monthly_usd, platform_prices
from servestack.selector.plan import Candidate, Plan, all_candidates, plan

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.workload import WorkloadSpec

__all__ = ["JointPlan", "JointPlacement", "joint_plan", "shared_monthly_usd", "with_zones"]

Mode = Literal["one_cluster", "separate_clusters"]


def shared_monthly_usd(cloud: str, zones: int, gpu_nodes: int) -> float:
    """The cluster's shared platform per month for `gpu_nodes` GPU nodes: control plane, system nodes and
    their volumes, NAT (on GCP NAT is billed per VM, hence the node count). Not shared, so each candidate
    carries its own: GPU node volumes, and the load balancer of its model server."""
    load_balancer = platform_prices(cloud).load_balancer_per_hour * HOURS_PER_MONTH
    return platform_monthly_usd(cloud, zones, gpu_nodes, 0) - load_balancer


def _own_expected(c: Candidate) -> float:
    """A candidate's expected cost without the platform of a cluster of its own."""
    return c.monthly_usd_expected - shared_monthly_usd(c.cloud, c.zones, c.nodes_avg)


def _own_ceiling(c: Candidate) -> float:
    return c.monthly_usd_ceiling - shared_monthly_usd(c.cloud, c.zones, c.nodes_peak)


def with_zones(spec: WorkloadSpec, zones: int) -> WorkloadSpec:
    """`spec` spread over at least `zones` zones (one cluster has one zone set)."""
    if spec.availability.zones >= zones:
        return spec
    return spec.model_copy(update={"availability": spec.availability.model_copy(update={"zones": zones})})


@dataclass(frozen=True)
class JointPlacement:
    """All workloads in one cluster: one cloud, region and zone set, one candidate per workload."""

    cloud: str
    region: str
    zone_names: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    """In the order of the workloads given to `joint_plan`."""
    shared_expected: float
    shared_ceiling: float
    monthly_usd_expected: float
    monthly_usd_ceiling: float

    def rank_key(self) -> tuple[Any, ...]:
        return (round(self.monthly_usd_expected, 6), round(self.monthly_usd_ceiling, 6), self.cloud, self.region,
                self.zone_names)

    def shares(self) -> tuple[float, ...]:
        """Each workload's share of the shared platform, in proportion to its own (GPU) expected cost."""
        own = [max(_own_expected(c), 0.0) for c in self.candidates]
        total = sum(own)
        if total <= 0:
            return tuple(self.shared_expected / len(own) for _ in own)
        return tuple(self.shared_expected * o / total for o in own)


@dataclass(frozen=True)
class JointPlan:
    """The answer for one environment: one cluster or separate clusters, and by how much."""

    workloads: tuple[str, ...]
    zones: int
    separate: tuple[Plan, ...]
    """Each workload's own plan (its own cluster), planned with `zones` zones."""
    one_cluster: JointPlacement | None
    """The cheapest one-cluster placement, or None when no region serves every workload."""
    budget_usd: float | None
    """The sum of the workloads' budgets (None when any has none): the one cluster's ceiling must fit it."""

    @property
    def feasible(self) -> bool:
        return all(p.feasible for p in self.separate)

    @property
    def separate_expected(self) -> float:
        return sum(p.chosen.monthly_usd_expected for p in self.separate if p.chosen is not None)

    @property
    def separate_ceiling(self) -> float:
        return sum(p.chosen.monthly_usd_ceiling for p in self.separate if p.chosen is not None)

    @property
    def mode(self) -> Mode:
        """One cluster unless separate clusters are strictly cheaper (or no region serves every workload)."""
        if self.one_cluster is None:
            return "separate_clusters"
        if round(self.separate_expected, 6) < round(self.one_cluster.monthly_usd_expected, 6):
            return "separate_clusters"
        return "one_cluster"

    @property
    def saving_usd(self) -> float:
        """How much cheaper the chosen mode is than the other per month (0 when only one is possible)."""
        if self.one_cluster is None:
            return 0.0
        return abs(self.separate_expected - self.one_cluster.monthly_usd_expected)

    def summary(self) -> str:
        """One sentence for people: which mode and by how much."""
        if self.one_cluster is None:
            return ("separate clusters: no region serves every workload, so each runs in its own cluster "
                    f"(${self.separate_expected:,.0f}/month expected)")
        one, sep = self.one_cluster.monthly_usd_expected, self.separate_expected
        if self.mode == "one_cluster":
            return (f"one cluster in {self.one_cluster.cloud}/{self.one_cluster.region}: ${one:,.0f}/month expected, "
                    f"${self.saving_usd:,.0f}/month less than separate clusters (${sep:,.0f})")
        return (f"separate clusters: ${sep:,.0f}/month expected, ${self.saving_usd:,.0f}/month less than one "
                f"cluster in {self.one_cluster.cloud}/{self.one_cluster.region} (${one:,.0f})")

    def to_json(self) -> dict[str, Any]:
        one = self.one_cluster
        return {
            "workloads": list(self.workloads),
            "zones": self.zones,
            "mode": self.mode,
            "saving_usd_month": round(self.saving_usd, 2),
            "separate_clusters": {
                "monthly_usd_expected": round(self.separate_expected, 2),
                "monthly_usd_ceiling": round(self.separate_ceiling, 2),
                "chosen": [p.chosen.to_json() if p.chosen else None for p in self.separate],
            },
            "one_cluster": None if one is None else {
                "cloud": one.cloud,
                "region": one.region,
                "zone_names": list(one.zone_names),
                "shared_monthly_usd_expected": round(one.shared_expected, 2),
                "shared_monthly_usd_ceiling": round(one.shared_ceiling, 2),
                "shared_share_usd": [round(s, 2) for s in one.shares()],
                "monthly_usd_expected": round(one.monthly_usd_expected, 2),
                "monthly_usd_ceiling": round(one.monthly_usd_ceiling, 2),
                "chosen": [c.to_json() for c in one.candidates],
            },
        }


def _zone_set(c: Candidate) -> tuple[str, ...]:
    """The zones a candidate's deployment uses when alone (servestack.contract.derive picks the first ones)."""
    return tuple(sorted(c.offering.zones)[: c.zones])


def _cheapest_in(candidates: Sequence[Candidate], zone_set: tuple[str, ...]) -> Candidate | None:
    fitting = [c for c in candidates if set(zone_set) <= set(c.offering.zones)]
    if not fitting:
        return None
    return min(fitting, key=lambda c: (round(_own_expected(c), 6), round(_own_ceiling(c), 6), c.instance_type,
                                       c.layout.tensor_parallel, c.layout.nodes_per_replica, c.pricing_base,
                                       c.pricing_burst))


def _placements(
    specs: Sequence[WorkloadSpec], catalog: Catalog, budget: float | None
) -> list[JointPlacement]:
    per_workload: list[dict[tuple[str, str], list[Candidate]]] = []
    for spec in specs:
        by_region: dict[tuple[str, str], list[Candidate]] = {}
        for c in all_candidates(spec, catalog):
            by_region.setdefault((c.cloud, c.region), []).append(c)
        per_workload.append(by_region)
    common = set(per_workload[0])
    for by_region in per_workload[1:]:
        common &= set(by_region)
    out: list[JointPlacement] = []
    for cloud, region in sorted(common):
        lists = [by_region[(cloud, region)] for by_region in per_workload]
        # The zone sets worth trying: the one each candidate would use alone.
        anchors = sorted({_zone_set(c) for cands in lists for c in cands})
        best: JointPlacement | None = None
        for anchor in anchors:
            chosen = [_cheapest_in(cands, anchor) for cands in lists]
            if any(c is None for c in chosen):
                continue
            picked = tuple(c for c in chosen if c is not None)
            zones = picked[0].zones
            nodes_avg = sum(c.nodes_avg for c in picked)
            nodes_peak = sum(c.nodes_peak for c in picked)
            shared_exp = shared_monthly_usd(cloud, zones, nodes_avg)
            shared_ceil = shared_monthly_usd(cloud, zones, nodes_peak)
            placement = JointPlacement(
                cloud=cloud, region=region, zone_names=anchor, candidates=picked,
                shared_expected=shared_exp, shared_ceiling=shared_ceil,
                monthly_usd_expected=sum(_own_expected(c) for c in picked) + shared_exp,
                monthly_usd_ceiling=sum(_own_ceiling(c) for c in picked) + shared_ceil,
            )
            if budget is not None and placement.monthly_usd_ceiling > budget:
                continue
            if best is None or placement.rank_key() < best.rank_key():
                best = placement
        if best is not None:
            out.append(best)
    return out


def joint_plan(specs: Sequence[WorkloadSpec], catalog: Catalog) -> JointPlan:
    """Plan `specs` (already adjusted for the environment kind) together; see the module doc.

    Workload names must be unique (the caller checks: they name the fleet's servers)."""
    if not specs:
        raise ValueError("joint_plan needs at least one workload")
    zones = max(s.availability.zones for s in specs)
    spread = [with_zones(s, zones) for s in specs]
    budgets = [s.budget.monthly_usd for s in spread]
    budget = None if any(b is None for b in budgets) else sum(b for b in budgets if b is not None)
    separate = tuple(plan(s, catalog, top=1) for s in spread)
    placements = _placements(spread, catalog, budget) if all(p.feasible for p in separate) else []
    one = min(placements, key=JointPlacement.rank_key) if placements else None
    return JointPlan(tuple(s.name for s in spread), zones, separate, one, budget)
