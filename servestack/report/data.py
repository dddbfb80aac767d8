"""What a plan report shows, computed from the selector (Pulumi-free, no rendering).

The selector returns the feasible candidates and counts of rejections by reason. To place rejected
alternatives on the cost-vs-latency chart, the spec is planned twice more with a constraint lifted:

- without the budget: the stacks that appear are the ones rejected `over_budget` (their ceiling is above it);
- without the budget and the latency SLOs: the stacks that appear only now missed an SLO at every load. They
  are plotted where they would be sized with no SLO (their highest-throughput operating point), which lies
  beyond the SLO line they miss. Those that also appear with only the TTFT SLO lifted met TPOT at some batch,
  so the selector rejected them for TTFT; the others for TPOT.

Each chart point is one stack shape (cloud, instance type, replica layout) in its cheapest region: the same
shape in other regions has the same latency and a price within a few percent, and would only stack up dots.

A mixed fleet (`Plan.mixed`: several accelerator pools in one cluster, each serving some request classes) is
the chosen point: its monthly cost against its worst class's TTFT and TPOT (every class must meet the SLO, so
the worst one is the fleet's), with one smaller marker per class at the latency of the pool serving it. The
best single-accelerator stack, which the fleet beat, is drawn as the alternative.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from servestack.catalog.platform import HOURS_PER_MONTH, platform_prices, volume_monthly_usd
from servestack.contract import shape
from servestack.contract.derive import checkpoint_gib
from servestack.selector import Candidate, Plan, all_candidates

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.contract import Deployment
    from servestack.selector.mixed import MixedFleet
    from servestack.workload import WorkloadSpec

__all__ = [
    "PointKind",
    "Point",
    "CostLine",
    "RejectedGroup",
    "RequestClassRow",
    "PoolRow",
    "FleetReport",
    "PlanReport",
    "REASON_TEXT",
    "build_report",
    "cost_breakdown",
    "fleet_cost_breakdown",
]

PointKind = Literal["chosen", "chosen_class", "alternative", "feasible", "over_budget", "misses_slo"]
"""`chosen_class`: one request class of a chosen mixed fleet; `alternative`: the best single-accelerator stack
a chosen mixed fleet beat."""

REASON_TEXT: dict[str, str] = {
    "cloud_not_allowed": "cloud not in placement.clouds",
    "region_not_allowed": "region not in placement.regions",
    "accelerator_not_allowed": "accelerator not in placement.accelerators_allowed",
    "accelerator_denied": "accelerator in placement.accelerators_denied",
    "no_measurement_for_accelerator": "no measured throughput for this accelerator and layout",
    "precision_unsupported": "the accelerator has no path for the model's precision",
    "too_few_zones": "offered in fewer zones than availability.zones",
    "not_offered": "not offered in enough zones for this account (preflight)",
    "quota": "GPU quota too low (preflight)",
    "tensor_parallel_indivisible": "tensor-parallel degree does not divide the model's attention heads",
    "does_not_fit_in_memory": "weights and KV cache do not fit the replica's accelerator memory",
    "tpot_slo_unreachable": "time per output token above slo.tpot_ms_p95 even at batch 1",
    "ttft_slo_unreachable": "time to first token above slo.ttft_ms_p95 at every batch that meets TPOT",
    "latency_slo_unreachable": "measured latency above slo.latency_ms_p95",
    "too_many_nodes": "needs more GPU nodes at peak than one stack may run",
    "pricing_not_offered": "no price for the pricing modes the spec allows",
    "over_budget": "cost ceiling above budget.monthly_usd",
}
"""A sentence per selector rejection reason (servestack.selector.REASONS); tests keep the two in step."""

_EXAMPLES_PER_REASON = 5


@dataclass(frozen=True, slots=True)
class Point:
    """One stack on the chart and in the tables."""

    kind: PointKind
    cloud: str
    region: str
    instance_type: str
    accelerator: str
    accelerators_per_node: int
    tensor_parallel: int
    nodes_per_replica: int
    pricing: str
    """floor + burst pricing, e.g. "1y+on_demand"."""
    monthly_usd_expected: float
    monthly_usd_ceiling: float
    ttft_ms: float
    tpot_ms: float | None
    """None for measured models, whose figures are whole-request latencies."""
    reason: str | None = None
    """The selector's rejection reason (servestack.selector.REASONS) of a rejected point."""
    name: str | None = None
    """What the point is when it is not one offering: a mixed fleet, or one class of it."""
    class_name: str | None = None
    """The request class of a `chosen_class` point."""

    @property
    def layout(self) -> str:
        across = f" x {self.nodes_per_replica} nodes" if self.nodes_per_replica > 1 else ""
        return f"TP{self.tensor_parallel}{across}"

    @property
    def label(self) -> str:
        if self.name is not None:
            return self.name
        return (f"{self.cloud}/{self.region} {self.instance_type} ({self.accelerator} x{self.accelerators_per_node}, "
                f"{self.layout}, {self.pricing})")

    @property
    def shape_key(self) -> tuple[str, str, int, int]:
        return (self.cloud, self.instance_type, self.tensor_parallel, self.nodes_per_replica)


@dataclass(frozen=True, slots=True)
class CostLine:
    """One line of the chosen stack's monthly bill, USD per 730-hour month."""

    item: str
    detail: str
    expected: float
    ceiling: float
    group: str = ""
    """The pool a line belongs to, or "shared platform", in a mixed fleet's bill; empty for a single stack."""


@dataclass(frozen=True, slots=True)
class RequestClassRow:
    """One class of `traffic.request_mix` with the estimate of the replica that serves it."""

    name: str
    share: float
    """Share of all requests."""
    input_tokens: int
    output_tokens: int
    pool: str | None
    """The mixed fleet's pool serving the class; None for a single stack."""
    requests_per_s_per_replica: float | None
    ttft_ms: float | None
    tpot_ms: float | None


@dataclass(frozen=True, slots=True)
class PoolRow:
    """One accelerator pool of a mixed fleet."""

    name: str
    instance_type: str
    accelerator: str
    accelerators_per_node: int
    layout: str
    pricing: str
    replicas_min: int
    replicas_avg: int
    replicas_peak: int
    nodes_min: int
    nodes_avg: int
    nodes_peak: int
    request_share: float
    classes: tuple[RequestClassRow, ...]
    monthly_usd_expected: float
    """GPU node-hours and node volumes of this pool; the cluster's shared platform is counted once, apart."""
    monthly_usd_ceiling: float


@dataclass(frozen=True, slots=True)
class FleetReport:
    """A chosen mixed fleet: its pools, its totals and the saving against the best single-accelerator stack."""

    cloud: str
    region: str
    zones: int
    pools: tuple[PoolRow, ...]
    monthly_usd_expected: float
    monthly_usd_ceiling: float
    platform_monthly_usd_expected: float
    alternative: Point
    """The best single-accelerator stack (the plan's homogeneous choice)."""
    saving_usd: float
    saving_share: float
    explanation: str
    worst_ttft_class: str
    worst_tpot_class: str
    alternative_over_budget: bool = False
    """The single-accelerator stack's ceiling is over the budget: the fleet is the only plan that fits."""


@dataclass(frozen=True, slots=True)
class RejectedGroup:
    reason: str
    text: str
    count: int
    """Alternatives the selector rejected for this reason (offerings, or replica layouts of an offering)."""
    examples: tuple[Point, ...]
    """The cheapest of them, where the chart can place them (over budget, missed SLO)."""


@dataclass(frozen=True, slots=True)
class PlanReport:
    workload: str
    environment: str
    feasible: bool
    catalog_as_of: str
    catalog_offerings: int
    slo_ttft_ms: float | None
    slo_tpot_ms: float | None
    slo_latency_ms: float | None
    budget_usd: float | None
    traffic: dict[str, float]
    chosen: Point | None
    points: tuple[Point, ...]
    """Every point of the chart, the chosen one included."""
    costs: tuple[CostLine, ...]
    rejected: tuple[RejectedGroup, ...]
    binding_constraint: str | None
    hint: str | None
    serving: dict[str, str]
    """The chosen stack's serving contract in words (checkpoint, dtypes, cold start); empty without one."""
    measured_model: bool
    request_mix: tuple[RequestClassRow, ...] = ()
    """The classes of `traffic.request_mix` (empty for average-only traffic), with the chosen estimate of each."""
    fleet: FleetReport | None = None
    """The chosen mixed fleet; `chosen` is then its point and the single stack is `fleet.alternative`."""


def _point(kind: PointKind, c: Candidate, measured: bool, reason: str | None = None) -> Point:
    p = c.performance
    return Point(kind, c.cloud, c.region, c.instance_type, c.accelerator, c.accelerators_per_node,
                 c.layout.tensor_parallel, c.layout.nodes_per_replica, f"{c.pricing_base}+{c.pricing_burst}",
                 c.monthly_usd_expected, c.monthly_usd_ceiling, p.ttft_ms, None if measured else p.tpot_ms, reason)


def _key(c: Candidate) -> tuple[str, str, str, int, int]:
    return (c.cloud, c.region, c.instance_type, c.layout.tensor_parallel, c.layout.nodes_per_replica)


def _cheapest_per_shape(points: Iterable[Point]) -> list[Point]:
    best: dict[tuple[str, str, int, int], Point] = {}
    for p in points:
        kept = best.get(p.shape_key)
        if kept is None or (p.monthly_usd_expected, p.region) < (kept.monthly_usd_expected, kept.region):
            best[p.shape_key] = p
    return sorted(best.values(), key=lambda p: (p.monthly_usd_expected, p.label))


def build_report(
    spec: WorkloadSpec, catalog: Catalog, result: Plan, environment: str, deployment: Deployment | None = None
) -> PlanReport:
    """The report of `result`, the plan of `spec` (as planned: after the environment's adjustments)."""
    measured = spec.model.resolved_architecture() is None
    chosen = result.chosen
    feasible = all_candidates(spec, catalog)
    feasible_keys = {_key(c) for c in feasible}
    chosen_key = _key(chosen) if chosen is not None else None
    points: list[Point] = [_point("feasible", c, measured) for c in feasible if _key(c) != chosen_key]

    unbudgeted = spec.model_copy(update={"budget": spec.budget.model_copy(update={"monthly_usd": None})})
    within_slo = all_candidates(unbudgeted, catalog)
    within_slo_keys = {_key(c) for c in within_slo}
    over_budget = [_point("over_budget", c, measured, "over_budget") for c in within_slo
                   if _key(c) not in feasible_keys]
    no_slo = spec.slo.model_copy(update={"ttft_ms_p95": None, "tpot_ms_p95": None, "latency_ms_p95": None})
    free = unbudgeted.model_copy(update={"slo": no_slo})
    # The selector rejects for TTFT only what meets TPOT at some batch: those appear with the TTFT SLO lifted.
    tpot_only = unbudgeted.model_copy(update={"slo": spec.slo.model_copy(update={"ttft_ms_p95": None})})
    meets_tpot = {_key(c) for c in all_candidates(tpot_only, catalog)}
    misses_slo = [
        _point("misses_slo", c, measured, "latency_slo_unreachable" if measured
               else "ttft_slo_unreachable" if _key(c) in meets_tpot else "tpot_slo_unreachable")
        for c in all_candidates(free, catalog) if _key(c) not in within_slo_keys
    ]

    shown = _cheapest_per_shape(points) + _cheapest_per_shape(over_budget) + _cheapest_per_shape(misses_slo)
    # The single stack a mixed fleet is compared with (over the budget when only the fleet fits it).
    single = result.mixed.homogeneous if result.mixed is not None else chosen
    best_single = _point("chosen", single, measured) if single is not None else None
    fleet = _fleet_report(spec, result.mixed, best_single) if result.mixed is not None and best_single else None
    chosen_point = best_single
    if best_single is not None:
        # The best single stack is drawn once: as the chosen point, or as the alternative a mixed fleet beat.
        shown = [p for p in shown if not (p.kind in ("feasible", "over_budget")
                                          and p.shape_key == best_single.shape_key)]
        if fleet is None:
            shown.append(best_single)
        else:
            assert result.mixed is not None
            chosen_point = _fleet_point(result.mixed, fleet)
            shown += [fleet.alternative, *_class_points(fleet, chosen_point), chosen_point]

    rejected_points = _cheapest_per_shape(over_budget) + _cheapest_per_shape(misses_slo)
    groups = tuple(
        RejectedGroup(reason, REASON_TEXT.get(reason, reason), count,
                      tuple(p for p in rejected_points if p.reason == reason)[:_EXAMPLES_PER_REASON])
        for reason, count in result.rejected.items()
    )
    t = spec.traffic
    return PlanReport(
        workload=result.workload,
        environment=environment,
        feasible=result.feasible,
        catalog_as_of=result.catalog_as_of,
        catalog_offerings=result.catalog_offerings,
        slo_ttft_ms=spec.slo.ttft_ms_p95,
        slo_tpot_ms=spec.slo.tpot_ms_p95,
        slo_latency_ms=spec.slo.latency_ms_p95,
        budget_usd=spec.budget.monthly_usd,
        traffic={"peak_requests_per_s": t.peak_requests_per_s, "avg_requests_per_s": t.avg_requests_per_s,
                 "avg_input_tokens": t.avg_input_tokens, "avg_output_tokens": t.avg_output_tokens},
        chosen=chosen_point,
        points=tuple(shown),
        costs=(fleet_cost_breakdown(spec, result.mixed) if result.mixed is not None and fleet is not None
               else cost_breakdown(spec, chosen) if chosen is not None else ()),
        rejected=groups,
        binding_constraint=result.binding_constraint,
        hint=result.hint,
        serving=_serving(deployment),
        measured_model=measured,
        request_mix=_request_mix(spec, chosen, fleet),
        fleet=fleet,
    )


def _class_rows(
    spec: WorkloadSpec, c: Candidate, names: Iterable[str], pool: str | None
) -> tuple[RequestClassRow, ...]:
    mix = {name: (share, tokens_in, tokens_out) for name, share, tokens_in, tokens_out in spec.traffic.classes()}
    estimate = {e.name: e for e in c.performance.classes}
    rows = []
    for name in names:
        share, tokens_in, tokens_out = mix[name]
        e = estimate.get(name)
        rows.append(RequestClassRow(name, share, tokens_in, tokens_out, pool,
                                    e.requests_per_s if e else None, e.ttft_ms if e else None,
                                    e.tpot_ms if e else None))
    return tuple(rows)


def _request_mix(
    spec: WorkloadSpec, chosen: Candidate | None, fleet: FleetReport | None
) -> tuple[RequestClassRow, ...]:
    """The classes of `traffic.request_mix` in the spec's order, each with the estimate of what serves it."""
    if spec.traffic.request_mix is None:
        return ()
    if fleet is not None:
        served = {row.name: row for pool in fleet.pools for row in pool.classes}
        return tuple(served[name] for name, _, _, _ in spec.traffic.classes())
    if chosen is not None:
        return _class_rows(spec, chosen, [c[0] for c in spec.traffic.classes()], None)
    return tuple(RequestClassRow(name, share, tokens_in, tokens_out, None, None, None, None)
                 for name, share, tokens_in, tokens_out in spec.traffic.classes())


def _fleet_report(spec: WorkloadSpec, m: MixedFleet, best_single: Point) -> FleetReport:
    pools = []
    for pool in m.pools:
        c = pool.candidate
        pools.append(PoolRow(
            pool.name, c.instance_type, c.accelerator, c.accelerators_per_node,
            _point("chosen", c, False).layout, f"{c.pricing_base}+{c.pricing_burst}",
            c.replicas_min, c.replicas_avg, c.replicas_peak, c.nodes_min, c.nodes_avg, c.nodes_peak,
            pool.request_share, _class_rows(spec, c, pool.classes, pool.name),
            pool.gpu_monthly_usd_expected, pool.gpu_monthly_usd_ceiling,
        ))
    rows = [row for pool in pools for row in pool.classes]
    # Every class meets the SLO on its own pool, so the fleet's latency is its worst class's.
    worst_ttft = max(rows, key=lambda r: (r.ttft_ms or 0.0, r.name))
    worst_tpot = max(rows, key=lambda r: (r.tpot_ms or 0.0, r.name))
    return FleetReport(
        m.cloud, m.region, m.zones, tuple(pools), m.monthly_usd_expected, m.monthly_usd_ceiling,
        m.platform_monthly_usd_expected, _replace_kind(best_single, "alternative"), m.saving_usd, m.saving_share,
        m.explanation(), worst_ttft.name, worst_tpot.name, m.homogeneous_over_budget,
    )


def _replace_kind(p: Point, kind: PointKind) -> Point:
    return replace(p, kind=kind)


def _fleet_point(m: MixedFleet, fleet: FleetReport) -> Point:
    """The chosen point of a mixed fleet: its monthly cost at its worst class's TTFT and TPOT."""
    rows = [row for pool in fleet.pools for row in pool.classes]
    parts = ", ".join(f"{', '.join(r.name for r in pool.classes)} on {pool.instance_type}" for pool in fleet.pools)
    pricing = "/".join(sorted({pool.pricing for pool in fleet.pools}))
    return Point(
        "chosen", m.cloud, m.region, "+".join(p.instance_type for p in fleet.pools),
        "+".join(p.accelerator for p in fleet.pools), 0, 0, 1, pricing,
        m.monthly_usd_expected, m.monthly_usd_ceiling,
        max(r.ttft_ms or 0.0 for r in rows), max(r.tpot_ms or 0.0 for r in rows),
        name=f"{m.cloud}/{m.region} mixed fleet of {len(fleet.pools)} pools ({parts})",
    )


def _class_points(fleet: FleetReport, chosen: Point) -> list[Point]:
    """One point per request class of the fleet: the fleet's cost at the latency of the pool serving it."""
    out = []
    for pool in fleet.pools:
        for row in pool.classes:
            if row.ttft_ms is None:
                continue
            out.append(Point(
                "chosen_class", chosen.cloud, chosen.region, pool.instance_type, pool.accelerator,
                pool.accelerators_per_node, 0, 1, pool.pricing, chosen.monthly_usd_expected,
                chosen.monthly_usd_ceiling, row.ttft_ms, row.tpot_ms,
                name=f"class {row.name} ({row.share:.0%} of requests) on pool {pool.name} "
                     f"({pool.instance_type}, {pool.accelerator} x{pool.accelerators_per_node})",
                class_name=row.name,
            ))
    return out


def cost_breakdown(spec: WorkloadSpec, c: Candidate) -> tuple[CostLine, ...]:
    """The chosen stack's monthly bill by item, priced as the selector prices it (expected and ceiling).

    Expected runs the floor all month and the nodes needed at average traffic above it; the ceiling runs every
    node group at its maximum. The lines add up to the candidate's monthly_usd_expected and _ceiling.
    """
    return _gpu_lines(spec, c, "") + _platform_lines(c.cloud, c.zones, c.nodes_avg, c.nodes_peak, "")


def fleet_cost_breakdown(spec: WorkloadSpec, m: MixedFleet) -> tuple[CostLine, ...]:
    """A mixed fleet's monthly bill: each pool's GPU nodes and their volumes, then the cluster's shared
    platform once (control plane, system nodes, NAT for every node of every pool, load balancer).

    The lines add up to the fleet's monthly_usd_expected and _ceiling, as the selector prices it.
    """
    lines: list[CostLine] = []
    for pool in m.pools:
        lines += _gpu_lines(spec, pool.candidate, f"pool {pool.name}")
    nodes_avg = sum(p.candidate.nodes_avg for p in m.pools)
    nodes_peak = sum(p.candidate.nodes_peak for p in m.pools)
    return tuple(lines) + _platform_lines(m.cloud, m.zones, nodes_avg, nodes_peak, "shared platform")


def _gpu_lines(spec: WorkloadSpec, c: Candidate, group: str) -> tuple[CostLine, ...]:
    h = HOURS_PER_MONTH
    burst_avg, burst_peak = c.nodes_avg - c.nodes_min, c.nodes_peak - c.nodes_min
    ckpt = checkpoint_gib(spec, c.performance.weights_gib)
    throughput = shape.volume_throughput_mibps(ckpt) if c.cloud == "aws" else 0
    iops = shape.volume_iops(throughput) if c.cloud == "aws" else 0
    volume = volume_monthly_usd(c.cloud, c.root_volume_gib, throughput, iops)
    tuned = f", gp3 {throughput} MiB/s, {iops} IOPS" if throughput else ""
    return (
        CostLine("GPU nodes, always-on floor", f"{c.nodes_min} x {c.instance_type} at ${c.hourly_usd_per_node:,.4f}/h "
                 f"({c.pricing_base})", c.nodes_min * c.hourly_usd_per_node * h,
                 c.nodes_min * c.hourly_usd_per_node * h, group),
        CostLine("GPU nodes, burst", f"{burst_avg} at average traffic, {burst_peak} at peak, at "
                 f"${c.hourly_usd_per_node_burst:,.4f}/h ({c.pricing_burst})",
                 burst_avg * c.hourly_usd_per_node_burst * h, burst_peak * c.hourly_usd_per_node_burst * h, group),
        CostLine("GPU node volumes", f"{c.root_volume_gib} GiB per node{tuned}", c.nodes_avg * volume,
                 c.nodes_peak * volume, group),
    )


def _platform_lines(cloud: str, zones: int, nodes_avg: int, nodes_peak: int, group: str) -> tuple[CostLine, ...]:
    """What one cluster costs besides its GPU nodes; NAT on GCP is per VM, so it counts the GPU nodes too."""
    h = HOURS_PER_MONTH
    p = platform_prices(cloud)
    system_volumes = p.system_node_count * p.system_node_root_volume_gib * p.volume_per_gib_month
    return (
        CostLine("cluster control plane", f"${p.control_plane_per_hour:,.2f}/h", p.control_plane_per_hour * h,
                 p.control_plane_per_hour * h, group),
        CostLine("system nodes", f"{p.system_node_count} x {p.system_node_instance_type} with "
                 f"{p.system_node_root_volume_gib} GiB volumes",
                 p.system_node_count * p.system_node_per_hour * h + system_volumes,
                 p.system_node_count * p.system_node_per_hour * h + system_volumes, group),
        CostLine("NAT", "one gateway per zone" if p.nat_per_zone else "Cloud NAT, per VM",
                 p.nat_monthly_usd(zones, nodes_avg + p.system_node_count),
                 p.nat_monthly_usd(zones, nodes_peak + p.system_node_count), group),
        CostLine("load balancer", f"${p.load_balancer_per_hour:,.4f}/h", p.load_balancer_per_hour * h,
                 p.load_balancer_per_hour * h, group),
    )


def _serving(deployment: Deployment | None) -> dict[str, str]:
    if deployment is None:
        return {}
    s = deployment.serving
    quant = f", --quantization {s.quantization}" if s.quantization else ""
    return {
        "checkpoint": f"{s.checkpoint} ({s.checkpoint_gib:g} GiB{', gated' if s.gated else ''})",
        "engine": f"vLLM --dtype {s.dtype} --kv-cache-dtype {s.kv_cache_dtype}{quant}, --max-model-len "
                  f"{s.max_model_len}",
        "cold start": f"{(s.node_launch_s + s.startup_budget_s) // 60} min budgeted (node launch "
                      f"{s.node_launch_s // 60} min + pod startup {s.startup_budget_s // 60} min)",
    }
