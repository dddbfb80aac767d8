"""Mixed fleets: serve each request class on the accelerator pool that serves it cheapest.

The integer program follows the Mélange formulation (Griggs et al., 2024): integer replica counts per
candidate offering, an assignment of each class's load to offerings, and each offering's capacity for the
load assigned to it, minimising cost. Here, per candidate column o (an offering and a replica layout) in the
spec's placement:

- u_o in {0, 1}: the pool exists; y_io in {0, 1}: class i is served by pool o. A router sends each request
  to the pool of its size class, so a class is served by exactly one pool: sum_o y_io = 1.
- ra_o, rp_o integer replicas at average and peak traffic; na_o, np_o integer nodes.
  Capacity: ra_o >= sum_i y_io x avg_rate_i / r_io, where r_io is one replica's requests/s for class i alone
  at the SLO (servestack.sizing.mix); the same at peak. The floor: ra_o >= replicas_min_o x u_o and
  na_o >= nodes_min_o x u_o; nodes hold replicas: na_o >= ra_o x nodes_per_replica / replicas_per_node.
- one cluster: z_R in {0, 1} per (cloud, region), u_o <= z_R(o), sum_R z_R = 1. Its control plane, NAT,
  system nodes and load balancer are paid once (z_R x fixed_R).
- a mixed fleet: sum_o u_o >= 2 (one pool is the homogeneous plan, which `plan` already finds exactly).
- objective: monthly expected cost = floor nodes at the base price + nodes above it at the burst price +
  per-node platform (root volumes) + fixed_R; the ceiling (peak nodes) stays within budget.monthly_usd.

Capacity is linear in the assigned load (a replica time-shares its classes), which is what makes the program
exact and small. The pools it picks are then sized again with the mix model of the classes each pool serves
(servestack.sizing.mix) and priced exactly as `plan` prices a single stack; the mixed fleet is chosen only
when that exact price beats the best homogeneous stack.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servestack.catalog.platform import HOURS_PER_MONTH, platform_monthly_usd
from servestack.catalog.types import Offering, PricingMode
from servestack.contract import shape
from servestack.contract.derive import checkpoint_gib
from servestack.selector.plan import (
    Candidate,
    Exclude,
    Layout,
    _price,
    _Priced,
    _size,
    _Sizer,
    evaluate,
    pricing_combinations,
)
from servestack.selector.validate import resolve_placement

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.contract.fleet import Fleet
    from servestack.workload import WorkloadSpec

__all__ = ["Pool", "MixedFleet", "mixed_fleet", "pool_name"]

_SAVING_EPSILON_USD = 0.01
"""A mixed fleet must save at least this much a month to be worth a router and a second pool."""


@dataclass(frozen=True)
class Pool:
    """One accelerator pool of a plan: a candidate sized for the classes it serves."""

    name: str
    classes: tuple[str, ...]
    request_share: float
    """Share of all requests this pool serves."""
    candidate: Candidate
    gpu_monthly_usd_expected: float
    """Node-hours and per-node volumes of this pool (the cluster's shared platform is counted once, at the plan)."""
    gpu_monthly_usd_ceiling: float

    def to_json(self) -> dict[str, Any]:
        out = self.candidate.to_json()
        out["monthly_usd_expected"] = round(self.gpu_monthly_usd_expected, 2)
        out["monthly_usd_ceiling"] = round(self.gpu_monthly_usd_ceiling, 2)
        return {"name": self.name, **out, "classes": list(self.classes), "request_share": round(self.request_share, 6),
                "class_estimates": self.candidate.performance.class_estimates()}


@dataclass(frozen=True)
class MixedFleet:
    """A plan of several pools in one cluster, and what it saves against the best homogeneous stack."""

    pools: tuple[Pool, ...]
    cloud: str
    region: str
    zones: int
    monthly_usd_expected: float
    monthly_usd_ceiling: float
    platform_monthly_usd_expected: float
    homogeneous: Candidate
    solve_seconds: float
    homogeneous_over_budget: bool = False
    """True when no single-accelerator stack fits the budget: `homogeneous` is then the cheapest of them,
    whose ceiling is over it, and the mixed fleet is the only plan (it may even cost more on average)."""

    @property
    def primary(self) -> Pool:
        """The pool serving most requests: its offering stands for the fleet where one offering is read."""
        return max(self.pools, key=lambda p: (p.request_share, p.name))

    @property
    def saving_usd(self) -> float:
        return self.homogeneous.monthly_usd_expected - self.monthly_usd_expected

    @property
    def saving_share(self) -> float:
        return self.saving_usd / self.homogeneous.monthly_usd_expected

    def to_json(self) -> dict[str, Any]:
        """A plan CANDIDATE for the whole fleet: the top-level fields of the pool serving most requests (so
        readers of one offering keep working), the fleet's monthly totals, every pool, and the saving."""
        out = self.primary.candidate.to_json()
        out["monthly_usd_expected"] = round(self.monthly_usd_expected, 2)
        out["monthly_usd_ceiling"] = round(self.monthly_usd_ceiling, 2)
        out["pools"] = [p.to_json() for p in self.pools]
        out["mixed"] = {
            "saving_usd_per_month": round(self.saving_usd, 2),
            "saving_share": round(self.saving_share, 4),
            "platform_monthly_usd_expected": round(self.platform_monthly_usd_expected, 2),
            "homogeneous": {k: v for k, v in self.homogeneous.to_json().items() if k != "estimate"},
            "homogeneous_over_budget": self.homogeneous_over_budget,
            "explanation": self.explanation(),
        }
        return out

    def fleet(self, spec: WorkloadSpec, catalog: Catalog) -> Fleet:
        """The fleet contract of this plan: one server per pool, each with the request classes it serves.

        Raises SpecError naming model.checkpoint when the spec's precision has no known checkpoint."""
        from servestack.contract.fleet import Fleet, FleetServer, RequestClass

        by_name = {c[0]: c for c in spec.traffic.classes()}
        servers = []
        for pool in self.pools:
            classes = [
                RequestClass(name=name, share=by_name[name][1], input_tokens=by_name[name][2],
                             output_tokens=by_name[name][3])
                for name in pool.classes
            ]
            deployment = pool.candidate.deployment(spec.for_classes(list(pool.classes)), catalog)
            servers.append(FleetServer(workload=spec.name, pool=pool.name, request_classes=classes,
                                       deployment=deployment))
        return Fleet(servers=servers)

    def explanation(self) -> str:
        h = self.homogeneous
        parts = "; ".join(
            f"{', '.join(p.classes)} on {p.candidate.instance_type} ({p.candidate.accelerator} "
            f"x{p.candidate.accelerators_per_node}, {p.candidate.replicas_min}-{p.candidate.replicas_peak} replicas)"
            for p in self.pools
        )
        if self.homogeneous_over_budget:
            return (
                f"mixed fleet fits the budget where no single-accelerator stack does: the cheapest "
                f"({h.instance_type}, {h.accelerator} x{h.accelerators_per_node}) needs a "
                f"${h.monthly_usd_ceiling:,.0f}/month ceiling (${h.monthly_usd_expected:,.0f} expected), the fleet "
                f"${self.monthly_usd_ceiling:,.0f}: {parts}"
            )
        return (
            f"mixed fleet saves ${self.saving_usd:,.0f}/month ({self.saving_share:.1%}) against the best homogeneous "
            f"stack ({h.instance_type}, {h.accelerator} x{h.accelerators_per_node}, "
            f"${h.monthly_usd_expected:,.0f}/month): {parts}"
        )


def pool_name(workload: str, accelerator: str, taken: set[str]) -> str:
    """A DNS-1123 label for a pool: workload-accelerator, numbered when two pools share an accelerator."""
    base = f"{workload}-{accelerator.lower()}".replace("_", "-")
    base = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in base)[:55].strip("-")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


@dataclass(frozen=True)
class _Column:
    offering: Offering
    layout: Layout
    rates: dict[int, float]
    """Requests/s of one replica per class index it can serve at the SLO."""
    replicas_min: int
    nodes_min: int
    base: PricingMode
    burst: PricingMode
    base_price: float
    burst_price: float
    per_node_platform: float
    fixed_platform: float


def _columns(spec: WorkloadSpec, catalog: Catalog, exclude: Exclude | None) -> list[_Column]:
    """Every (offering, layout) that serves at least one class at the SLO, with its capacity per class."""
    names = [c[0] for c in spec.traffic.classes()]
    unbudgeted = spec.model_copy(update={"budget": spec.budget.model_copy(update={"monthly_usd": None})})
    found: dict[tuple[int, Layout], dict[int, _Priced]] = defaultdict(dict)
    offerings: dict[int, Offering] = {}
    for index, name in enumerate(names):
        sub = unbudgeted.for_classes([name])
        sizer = _Sizer(sub, catalog, resolve_placement(sub, catalog))
        for offering, outcome in evaluate(sub, catalog, sizer, exclude):
            if isinstance(outcome, _Priced):
                found[(id(offering), outcome.sized.layout)][index] = outcome
                offerings[id(offering)] = offering
    combos = pricing_combinations(spec.pricing.spot, spec.pricing.commitment)
    zones = spec.availability.zones
    columns: list[_Column] = []
    for (offering_id, layout), per_class in found.items():
        offering = offerings[offering_id]
        priced = [(b, u, offering.price(b), offering.price(u)) for b, u in combos]
        usable = [(b, u, pb, pu) for b, u, pb, pu in priced if pb is not None and pu is not None]
        if not usable:
            continue
        base, burst, pb, pu = min(usable, key=lambda x: (x[2] + x[3], x[2]))
        any_sized = next(iter(per_class.values())).sized
        checkpoint = checkpoint_gib(spec, any_sized.perf.weights_gib)
        throughput = shape.volume_throughput_mibps(checkpoint) if offering.cloud == "aws" else 0
        iops = shape.volume_iops(throughput) if offering.cloud == "aws" else 0
        fixed = platform_monthly_usd(offering.cloud, zones, 0, any_sized.root_volume_gib, throughput, iops)
        one = platform_monthly_usd(offering.cloud, zones, 1, any_sized.root_volume_gib, throughput, iops)
        columns.append(_Column(
            offering, layout, {i: p.sized.perf.requests_per_s for i, p in per_class.items()},
            any_sized.replicas_min, any_sized.nodes_min, base, burst, float(pb), float(pu), one - fixed, fixed,
        ))
    return columns


def _solve(
    spec: WorkloadSpec, columns: list[_Column], incumbent: float = math.inf
) -> list[tuple[_Column, list[int]]] | None:
    """The integer program of the module doc: the chosen columns with the class indices each serves.

    Pools share one cluster, so the program separates by (cloud, region): each region is solved on its own,
    cheapest lower bound first, and a region whose lower bound is not below the best plan found so far (or
    `incumbent`, the best homogeneous stack) is skipped - the answer is the same as one program over all.
    """
    by_region: dict[tuple[str, str], list[_Column]] = defaultdict(list)
    for col in _undominated(columns):
        by_region[(col.offering.cloud, col.offering.region)].append(col)
    best: tuple[float, list[tuple[_Column, list[int]]]] | None = None
    bound = incumbent
    ranked = sorted(((_lower_bound(spec, cols), key) for key, cols in by_region.items()), key=lambda x: x[0])
    for lower, key in ranked:
        if lower >= bound:
            break
        solved = _solve_region(spec, by_region[key])
        if solved is not None and solved[0] < bound:
            best, bound = solved, solved[0]
    return best[1] if best is not None else None


def _undominated(columns: list[_Column]) -> list[_Column]:
    """Columns no other column of the same region beats on every count: one with the same replica shape,
    prices and platform no higher, and at least the capacity for every class (e.g. the same GPU on a node
    with more CPUs, at a higher price). Removing them leaves the optimum unchanged and the program smaller."""
    groups: dict[tuple[Any, ...], list[_Column]] = defaultdict(list)
    for col in columns:
        groups[(col.offering.cloud, col.offering.region, col.layout.replicas_per_node, col.layout.nodes_per_replica,
                col.replicas_min, col.nodes_min)].append(col)
    kept: list[_Column] = []
    for group in groups.values():
        for a in group:
            if not any(b is not a and _dominates(b, a) and not (_dominates(a, b) and id(a) < id(b)) for b in group):
                kept.append(a)
    return kept


def _dominates(b: _Column, a: _Column) -> bool:
    return (b.base_price <= a.base_price and b.burst_price <= a.burst_price
            and b.per_node_platform <= a.per_node_platform
            and all(b.rates.get(i, 0.0) >= r for i, r in a.rates.items()))


def _lower_bound(spec: WorkloadSpec, columns: list[_Column]) -> float:
    """A cost no plan in this region goes below: the shared platform, and each class's average load on the
    column that serves it cheapest per request, at the lower of the floor and burst prices, without floors
    or whole replicas. Infinite when some class has no column here."""
    avg = spec.traffic.avg_requests_per_s
    total = columns[0].fixed_platform
    for i, (_, share, _, _) in enumerate(spec.traffic.classes()):
        per_request = [
            (min(c.base_price, c.burst_price) * HOURS_PER_MONTH + c.per_node_platform)
            * c.layout.nodes_per_replica / c.layout.replicas_per_node / c.rates[i]
            for c in columns if i in c.rates
        ]
        if not per_request:
            return math.inf
        total += avg * share * min(per_request)
    return total


def _solve_region(spec: WorkloadSpec, columns: list[_Column]) -> tuple[float, list[tuple[_Column, list[int]]]] | None:
    """The program over the columns of one region; (monthly expected cost, chosen columns and classes)."""
    import numpy as np
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    classes = spec.traffic.classes()
    peak, avg = spec.traffic.peak_requests_per_s, spec.traffic.avg_requests_per_s
    regions = sorted({(c.offering.cloud, c.offering.region) for c in columns})
    region_index = {r: k for k, r in enumerate(regions)}
    # Variable layout: per column [u, ra, na, rp, np, y_i for each servable class], then z per region.
    starts: list[int] = []
    y_index: list[dict[int, int]] = []
    n = 0
    for col in columns:
        starts.append(n)
        y_index.append({i: n + 5 + k for k, i in enumerate(sorted(col.rates))})
        n += 5 + len(col.rates)
    z0 = n
    n += len(regions)

    cost = np.zeros(n)
    ceiling = np.zeros(n)
    integrality = np.ones(n)
    upper = np.full(n, np.inf)
    for col, s in zip(columns, starts, strict=True):
        hours = HOURS_PER_MONTH
        floor_premium = (col.base_price - col.burst_price) * hours * col.nodes_min
        cost[s] = floor_premium
        cost[s + 2] = col.burst_price * hours + col.per_node_platform
        ceiling[s] = floor_premium
        ceiling[s + 4] = col.burst_price * hours + col.per_node_platform
        upper[s] = 1
    for yi in y_index:
        for j in yi.values():
            upper[j] = 1
    for (cloud, region), k in region_index.items():
        fixed = next(c.fixed_platform for c in columns if (c.offering.cloud, c.offering.region) == (cloud, region))
        cost[z0 + k] = fixed
        ceiling[z0 + k] = fixed
        upper[z0 + k] = 1

    rows: list[tuple[dict[int, float], float, float]] = []
    for i in range(len(classes)):
        rows.append(({yi[i]: 1.0 for yi in y_index if i in yi}, 1.0, 1.0))
    for col, s, yi in zip(columns, starts, y_index, strict=True):
        per_node = col.layout.replicas_per_node
        span = col.layout.nodes_per_replica
        for replicas, nodes, rate in ((s + 1, s + 2, avg), (s + 3, s + 4, peak)):
            load = {replicas: 1.0}
            for i, j in yi.items():
                load[j] = -rate * classes[i][1] / col.rates[i]
            rows.append((load, 0.0, math.inf))
            rows.append(({replicas: 1.0, s: -float(col.replicas_min)}, 0.0, math.inf))
            rows.append(({nodes: 1.0, s: -float(col.nodes_min)}, 0.0, math.inf))
            rows.append(({nodes: float(per_node), replicas: -float(span)}, 0.0, math.inf))
        rows.append(({s + 3: 1.0, s + 1: -1.0}, 0.0, math.inf))
        for j in yi.values():
            rows.append(({s: 1.0, j: -1.0}, 0.0, math.inf))
        # A pool exists only to serve a class (so "two pools" means two that serve something).
        rows.append(({s: -1.0, **{j: 1.0 for j in yi.values()}}, 0.0, math.inf))
        rows.append(({z0 + region_index[(col.offering.cloud, col.offering.region)]: 1.0, s: -1.0}, 0.0, math.inf))
    rows.append(({z0 + k: 1.0 for k in range(len(regions))}, 1.0, 1.0))
    # A mixed fleet has two pools or more; one pool is the homogeneous plan, which `plan` finds exactly.
    rows.append(({s: 1.0 for s in starts}, 2.0, math.inf))
    budget = spec.budget.monthly_usd
    if budget is not None:
        rows.append(({j: float(v) for j, v in enumerate(ceiling) if v}, -math.inf, budget))
    matrix = lil_matrix((len(rows), n))
    lower_b = np.empty(len(rows))
    upper_b = np.empty(len(rows))
    for r, (coefficients, lo, hi) in enumerate(rows):
        for j, v in coefficients.items():
            matrix[r, j] = v
        lower_b[r], upper_b[r] = lo, hi
    result = milp(
        cost, integrality=integrality, bounds=Bounds(np.zeros(n), upper),
        constraints=LinearConstraint(matrix.tocsr(), lower_b, upper_b), options={"time_limit": 10.0},
    )
    if result.x is None:
        return None
    chosen: list[tuple[_Column, list[int]]] = []
    for col, s, yi in zip(columns, starts, y_index, strict=True):
        served = [i for i, j in yi.items() if result.x[j] > 0.5]
        if result.x[s] > 0.5 and served:
            chosen.append((col, served))
    return float(result.fun), chosen


def _exact_pool(spec: WorkloadSpec, catalog: Catalog, col: _Column, names: list[str]) -> _Priced | None:
    """The pool re-sized with the mix model of the classes it serves, priced as `plan` prices a stack."""
    sub = spec.for_classes(names)
    sub = sub.model_copy(update={"budget": sub.budget.model_copy(update={"monthly_usd": None})})
    sizer = _Sizer(sub, catalog, resolve_placement(sub, catalog))
    accelerator = catalog.accelerators[col.offering.accelerator]
    perf = sizer.performance(accelerator, col.layout, col.offering.multi_node_network is not None)
    if isinstance(perf, str):
        return None
    sized = _size(sub, col.offering.cloud, col.layout, perf)
    if isinstance(sized, str):
        return None
    priced = _price(col.offering, sized, [(col.base, col.burst)], None)
    return priced if isinstance(priced, _Priced) else None


def mixed_fleet(
    spec: WorkloadSpec, catalog: Catalog, homogeneous: Candidate, exclude: Exclude | None = None,
    *, homogeneous_over_budget: bool = False,
) -> MixedFleet | None:
    """The cheapest mixed fleet for a spec with several request classes, when it beats `homogeneous`.

    With `homogeneous_over_budget` (`homogeneous` is the cheapest single-accelerator stack and its ceiling is over
    the budget), any fleet within the budget beats it: the fleet is then the only plan that fits."""
    classes = spec.traffic.classes()
    if len(classes) < 2 or spec.model.resolved_architecture() is None:
        return None
    if len({tokens for _, _, tokens, _ in classes}) < len(classes):
        # The router tells classes apart by prompt size (servestack.components.kubernetes.router): two classes
        # of the same prompt length cannot be routed, so no fleet that needs routing them is deployable.
        return None
    started = time.perf_counter()
    columns = _columns(spec, catalog, exclude)
    incumbent = math.inf if homogeneous_over_budget else homogeneous.monthly_usd_expected
    solution = _solve(spec, columns, incumbent) if columns else None
    solve_seconds = time.perf_counter() - started
    if not solution or len(solution) < 2:
        return None
    pools: list[Pool] = []
    zones = spec.availability.zones
    taken: set[str] = set()
    gpu_expected = gpu_ceiling = 0.0
    nodes_avg = nodes_peak = 0
    for col, served in sorted(solution, key=lambda cs: min(cs[1])):
        names = [classes[i][0] for i in served]
        priced = _exact_pool(spec, catalog, col, names)
        if priced is None:
            return None
        z = priced.sized
        expected = priced.expected - z.platform_expected + col.per_node_platform * z.nodes_avg
        ceiling = priced.ceiling - z.platform_ceiling + col.per_node_platform * z.nodes_peak
        name = pool_name(spec.name, col.offering.accelerator, taken)
        taken.add(name)
        share = sum(classes[i][1] for i in served)
        pools.append(Pool(name, tuple(names), share, priced.candidate(zones), expected, ceiling))
        gpu_expected += expected
        gpu_ceiling += ceiling
        nodes_avg += z.nodes_avg
        nodes_peak += z.nodes_peak
    first = pools[0].candidate
    volume = first.root_volume_gib
    checkpoint = checkpoint_gib(spec, first.performance.weights_gib)
    throughput = shape.volume_throughput_mibps(checkpoint) if first.cloud == "aws" else 0
    iops = shape.volume_iops(throughput) if first.cloud == "aws" else 0
    fixed = platform_monthly_usd(first.cloud, zones, 0, volume, throughput, iops)
    # Shared platform once, plus what the per-node part of the platform misses (NAT per VM is capped on GCP).
    platform_expected = platform_monthly_usd(first.cloud, zones, nodes_avg, volume, throughput, iops)
    platform_ceiling = platform_monthly_usd(first.cloud, zones, nodes_peak, volume, throughput, iops)
    per_node = platform_monthly_usd(first.cloud, zones, 1, volume, throughput, iops) - fixed
    total_expected = gpu_expected - per_node * nodes_avg + platform_expected
    total_ceiling = gpu_ceiling - per_node * nodes_peak + platform_ceiling
    budget = spec.budget.monthly_usd
    if budget is not None and total_ceiling > budget:
        return None
    if not homogeneous_over_budget and total_expected > homogeneous.monthly_usd_expected - _SAVING_EPSILON_USD:
        return None
    return MixedFleet(
        tuple(pools), first.cloud, first.region, zones, total_expected, total_ceiling, platform_expected,
        homogeneous, solve_seconds, homogeneous_over_budget,
    )
