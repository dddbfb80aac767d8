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

Zones: one cluster spans one zone set, so in one cluster every workload is planned with the largest
`availability.zones` any of them asks for (a workload asking for fewer gets more: its floor is spread wider).
Separate clusters plan each workload with its own zones: a one-zone 405B model need not keep three replicas
because a small model beside it asks for three zones.

Mixed fleets (a workload with a request mix whose own plan serves its size classes on several pools,
`servestack.selector.mixed`): its own plan costs what its mixed fleet costs, so separate clusters are priced
with it. In one cluster, the workload may take its mixed pools instead of a homogeneous candidate when its
fleet lies in the placement's region and every pool's offering holds the placement's zone set. The pools'
own cost is their GPU nodes and volumes (the fleet's total without its cluster's platform and its router's
load balancer); the router is the cluster's one Gateway whatever the number of mixed workloads it routes,
so its load balancer is added once, to the shared platform, when any workload takes its pools. Each
combination of homogeneous and mixed choices is priced in full and the cheapest kept (a tie keeps the
homogeneous stack: fewer moving parts).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from servestack.catalog.platform import HOURS_PER_MONTH, platform_monthly_usd, platform_prices
from servestack.catalog.pricing import nodes_monthly_usd
from servestack.selector.plan import Candidate, Plan, all_candidates, plan

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.selector.mixed import MixedFleet
    from servestack.workload import WorkloadSpec

__all__ = ["JointPlan", "JointPlacement", "joint_plan", "own_plan_expected", "own_plan_ceiling", "pool_own_usd",
           "router_monthly_usd", "shared_monthly_usd", "with_zones"]

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


def _gpu_expected(c: Candidate) -> float:
    """A candidate's GPU node-hours per month (no volumes, no load balancer), priced as the plan prices them."""
    return nodes_monthly_usd(c.hourly_usd_per_node, c.nodes_min, c.hourly_usd_per_node_burst, c.nodes_avg - c.nodes_min)


def _own_ceiling(c: Candidate) -> float:
    return c.monthly_usd_ceiling - shared_monthly_usd(c.cloud, c.zones, c.nodes_peak)


def router_monthly_usd(cloud: str) -> float:
    """The router's load balancer per month: one Gateway per cluster, however many mixed workloads it routes."""
    return platform_prices(cloud).load_balancer_per_hour * HOURS_PER_MONTH


def pool_own_usd(c: Candidate) -> tuple[float, float]:
    """A mixed fleet pool's own cost per month (expected, ceiling): its GPU nodes and their volumes, without the
    cluster's platform and without a load balancer of its own (its requests come through the router's)."""
    lb = router_monthly_usd(c.cloud)
    return _own_expected(c) - lb, _own_ceiling(c) - lb


def _fleet_nodes(m: MixedFleet) -> tuple[int, int]:
    return sum(p.candidate.nodes_avg for p in m.pools), sum(p.candidate.nodes_peak for p in m.pools)


def _mixed_own_expected(m: MixedFleet) -> float:
    """A mixed fleet's GPU nodes and volumes: its total without its cluster's platform and router."""
    return m.monthly_usd_expected - shared_monthly_usd(m.cloud, m.zones, _fleet_nodes(m)[0]) - router_monthly_usd(
        m.cloud)


def _mixed_own_ceiling(m: MixedFleet) -> float:
    return m.monthly_usd_ceiling - shared_monthly_usd(m.cloud, m.zones, _fleet_nodes(m)[1]) - router_monthly_usd(
        m.cloud)


def own_plan_expected(p: Plan) -> float:
    """What a workload's own plan costs per month in a cluster of its own: its mixed fleet when the plan chose
    one, else its chosen stack (0 for an infeasible plan)."""
    if p.mixed is not None:
        return p.mixed.monthly_usd_expected
    return p.chosen.monthly_usd_expected if p.chosen is not None else 0.0


def own_plan_ceiling(p: Plan) -> float:
    if p.mixed is not None:
        return p.mixed.monthly_usd_ceiling
    return p.chosen.monthly_usd_ceiling if p.chosen is not None else 0.0


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
    """In the order of the workloads given to `joint_plan`. For a workload that takes its mixed pools
    (`mixed[i]`), the pool serving most of its requests (as the plan JSON's top-level fields show a fleet)."""
    shared_expected: float
    """The shared platform, paid once; with the router's load balancer when any workload takes mixed pools."""
    shared_ceiling: float
    monthly_usd_expected: float
    monthly_usd_ceiling: float
    mixed: tuple[MixedFleet | None, ...] = ()
    """Per workload: its mixed fleet when it takes those pools in this cluster, else None (empty: none does)."""

    def fleet_of(self, index: int) -> MixedFleet | None:
        """The mixed fleet workload `index` takes in this cluster, or None (a homogeneous candidate)."""
        return self.mixed[index] if index < len(self.mixed) else None

    def workload_fleets(self) -> tuple[MixedFleet | None, ...]:
        """`fleet_of` for every workload, in order."""
        return tuple(self.fleet_of(i) for i in range(len(self.candidates)))

    @property
    def routed(self) -> bool:
        """True when the cluster runs a router (some workload takes mixed pools)."""
        return any(m is not None for m in self.mixed)

    def rank_key(self) -> tuple[Any, ...]:
        return (round(self.monthly_usd_expected, 6), round(self.monthly_usd_ceiling, 6),
                sum(m is not None for m in self.mixed), self.cloud, self.region, self.zone_names)

    def _gpu_expected(self, index: int) -> float:
        fleet = self.fleet_of(index)
        if fleet is None:
            return _gpu_expected(self.candidates[index])
        return sum(_gpu_expected(p.candidate) for p in fleet.pools)

    def shares(self) -> tuple[float, ...]:
        """Each workload's share of the shared platform, in proportion to its GPU nodes' expected cost: the
        rule of the cost report's showback (servestack.costing.showback), so plan and report agree."""
        gpu = [self._gpu_expected(i) for i in range(len(self.candidates))]
        total = sum(gpu)
        if total <= 0:
            return tuple(self.shared_expected / len(gpu) for _ in gpu)
        return tuple(self.shared_expected * g / total for g in gpu)


@dataclass(frozen=True)
class JointPlan:
    """The answer for one environment: one cluster or separate clusters, and by how much."""

    workloads: tuple[str, ...]
    zones: int
    separate: tuple[Plan, ...]
    """Each workload's own plan (its own cluster), exactly as its spec asks (its own zones)."""
    one_cluster: JointPlacement | None
    """The cheapest one-cluster placement, or None when no region serves every workload."""
    budget_usd: float | None
    """The sum of the workloads' budgets (None when any has none): the one cluster's ceiling must fit it."""

    @property
    def feasible(self) -> bool:
        return all(p.feasible for p in self.separate)

    @property
    def separate_expected(self) -> float:
        """Separate clusters: each workload's own plan, its mixed fleet when its plan chose one."""
        return sum(own_plan_expected(p) for p in self.separate)

    @property
    def separate_ceiling(self) -> float:
        return sum(own_plan_ceiling(p) for p in self.separate)

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
            fleets = [w for w, m in zip(self.workloads, self.one_cluster.workload_fleets(), strict=True) if m]
            pools = f" ({', '.join(fleets)} on mixed fleet pools behind one router)" if fleets else ""
            return (f"one cluster in {self.one_cluster.cloud}/{self.one_cluster.region}{pools}: ${one:,.0f}/month "
                    f"expected, ${self.saving_usd:,.0f}/month less than separate clusters (${sep:,.0f})")
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
                "chosen": [p.mixed.to_json() if p.mixed is not None else p.chosen.to_json() if p.chosen else None
                           for p in self.separate],
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
                "router_monthly_usd": round(router_monthly_usd(one.cloud), 2) if one.routed else 0.0,
                "chosen": [c.to_json() if fleet is None else fleet.to_json()
                           for c, fleet in zip(one.candidates, one.workload_fleets(), strict=True)],
            },
        }


def _zone_set(c: Candidate) -> tuple[str, ...]:
    """The zones a candidate's deployment uses when alone (servestack.contract.derive picks the first ones)."""
    return tuple(sorted(c.offering.zones)[: c.zones])


def _fleet_zone_set(fleet: MixedFleet) -> tuple[str, ...]:
    """The zones a mixed fleet's deployment uses when alone: its pools' first zones (as for a candidate)."""
    return _zone_set(fleet.primary.candidate)


def _cheapest_in(candidates: Sequence[Candidate], zone_set: tuple[str, ...]) -> Candidate | None:
    fitting = [c for c in candidates if set(zone_set) <= set(c.offering.zones)]
    if not fitting:
        return None
    return min(fitting, key=lambda c: (round(_own_expected(c), 6), round(_own_ceiling(c), 6), c.instance_type,
                                       c.layout.tensor_parallel, c.layout.nodes_per_replica, c.pricing_base,
                                       c.pricing_burst))


def _fits(fleet: MixedFleet | None, cloud: str, region: str, zone_set: tuple[str, ...]) -> bool:
    """Whether a mixed fleet can run in one cluster at (cloud, region) on `zone_set`: its pools' offerings are
    there and each offers every zone of the set."""
    return (fleet is not None and (fleet.cloud, fleet.region) == (cloud, region)
            and all(set(zone_set) <= set(p.candidate.offering.zones) for p in fleet.pools))


def _placement(
    cloud: str, region: str, anchor: tuple[str, ...], picks: Sequence[Candidate | MixedFleet]
) -> JointPlacement:
    """One cluster with each workload on its pick (a homogeneous candidate or its mixed fleet), priced in full."""
    own_expected = own_ceiling = 0.0
    nodes_avg = nodes_peak = 0
    candidates: list[Candidate] = []
    mixed: list[MixedFleet | None] = []
    for pick in picks:
        if isinstance(pick, Candidate):
            own_expected += _own_expected(pick)
            own_ceiling += _own_ceiling(pick)
            nodes_avg += pick.nodes_avg
            nodes_peak += pick.nodes_peak
            candidates.append(pick)
            mixed.append(None)
        else:
            own_expected += _mixed_own_expected(pick)
            own_ceiling += _mixed_own_ceiling(pick)
            avg, peak = _fleet_nodes(pick)
            nodes_avg += avg
            nodes_peak += peak
            candidates.append(pick.primary.candidate)
            mixed.append(pick)
    zones = picks[0].zones
    router = router_monthly_usd(cloud) if any(m is not None for m in mixed) else 0.0
    shared_exp = shared_monthly_usd(cloud, zones, nodes_avg) + router
    shared_ceil = shared_monthly_usd(cloud, zones, nodes_peak) + router
    return JointPlacement(
        cloud=cloud, region=region, zone_names=anchor, candidates=tuple(candidates),
        shared_expected=shared_exp, shared_ceiling=shared_ceil,
        monthly_usd_expected=own_expected + shared_exp, monthly_usd_ceiling=own_ceiling + shared_ceil,
        mixed=tuple(mixed) if any(m is not None for m in mixed) else (),
    )


def _placements(
    specs: Sequence[WorkloadSpec], catalog: Catalog, budget: float | None,
    fleets: Sequence[MixedFleet | None] = (),
) -> list[JointPlacement]:
    """The cheapest one-cluster placement per region. `fleets`: each workload's mixed fleet (or None), which
    it may take instead of a homogeneous candidate where the fleet fits the region and zone set."""
    fleet_list = list(fleets) or [None] * len(specs)
    per_workload: list[dict[tuple[str, str], list[Candidate]]] = []
    for spec, fleet in zip(specs, fleet_list, strict=True):
        by_region: dict[tuple[str, str], list[Candidate]] = {}
        for c in all_candidates(spec, catalog):
            by_region.setdefault((c.cloud, c.region), []).append(c)
        if fleet is not None:
            # A workload whose only plan within its budget is its mixed fleet is served in the fleet's region.
            by_region.setdefault((fleet.cloud, fleet.region), [])
        per_workload.append(by_region)
    common = set(per_workload[0])
    for by_region in per_workload[1:]:
        common &= set(by_region)
    out: list[JointPlacement] = []
    for cloud, region in sorted(common):
        lists = [by_region[(cloud, region)] for by_region in per_workload]
        # The zone sets worth trying: the one each candidate (or fleet) would use alone.
        anchors = sorted({_zone_set(c) for cands in lists for c in cands}
                         | {_fleet_zone_set(f) for f in fleet_list if f is not None})
        best: JointPlacement | None = None
        for anchor in anchors:
            # Each workload: its cheapest homogeneous candidate here, or its mixed fleet where that fits. The
            # router's load balancer is paid once for all mixed workloads, so the choices are not independent:
            # every combination is priced (2^k for k workloads with a fitting fleet, k is small).
            options: list[list[Candidate | MixedFleet]] = []
            for cands, fleet in zip(lists, fleet_list, strict=True):
                homogeneous = _cheapest_in(cands, anchor)
                option: list[Candidate | MixedFleet] = [] if homogeneous is None else [homogeneous]
                if fleet is not None and _fits(fleet, cloud, region, anchor):
                    option.append(fleet)
                options.append(option)
            if any(not option for option in options):
                continue
            for picks in itertools.product(*options):
                placement = _placement(cloud, region, anchor, picks)
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
    # Separate clusters: each workload exactly as its spec asks. Together: each spread over the shared zone set
    # (re-planned only when that changes its spec), which is where a mixed fleet for the one cluster comes from.
    separate = tuple(plan(s, catalog, top=1) for s in specs)
    together = tuple(own if wide is spec else plan(wide, catalog, top=1)
                     for spec, wide, own in zip(specs, spread, separate, strict=True))
    fleets = [p.mixed for p in together]
    placements = _placements(spread, catalog, budget, fleets) if all(p.feasible for p in together) else []
    one = min(placements, key=JointPlacement.rank_key) if placements else None
    return JointPlan(tuple(s.name for s in spread), zones, separate, one, budget)
