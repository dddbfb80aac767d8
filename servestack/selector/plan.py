"""The cheapest-stack selector behind `servestack plan`.

Objective: the lowest expected monthly cost. Constraints: the model fits, TTFT/TPOT SLOs hold at the
replica's operating point, placement and pricing policy are honoured, and the ceiling (every node group
at its maximum for 730 h) stays within the budget. Ties break deterministically on the ceiling, then on the
spot pool's instance types (more is better: the same price, more places to find capacity), then on names
(see `_Priced.rank_key`).

The search space is every (offering, replica layout, pricing combination) the spec allows. A replica
layout is how one model replica uses an instance type: `tensor_parallel` accelerators inside one node
(several replicas may share a node), or whole nodes joined by pipeline parallelism over an EFA /
GPUDirect-class fabric - tried only when the model does not fit on one full node.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from servestack.catalog.platform import platform_monthly_usd
from servestack.catalog.pricing import nodes_monthly_usd, pool_hourly_usd
from servestack.catalog.types import Offering, PricingMode
from servestack.contract import shape
from servestack.contract.derive import checkpoint_gib, deployment_for, spot_alternates, spot_peer_key
from servestack.selector.validate import ResolvedPlacement, resolve_placement

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.catalog.types import Accelerator
    from servestack.contract import Deployment
    from servestack.selector.mixed import MixedFleet
    from servestack.sizing.mix import ClassLatency
    from servestack.workload import WorkloadSpec

__all__ = [
    "Layout",
    "ReplicaPerformance",
    "Candidate",
    "Plan",
    "plan",
    "replica_layouts",
    "pricing_combinations",
    "REASONS",
    "MAX_PIPELINE_NODES",
    "MAX_GPU_NODES",
]

MAX_PIPELINE_NODES = 8
"""Most nodes one replica may span; beyond this, pipeline bubbles make serving impractical."""

MAX_GPU_NODES = 10_000
"""Most GPU nodes one stack may need at peak. A product limit, not a cloud quota: a deployment this large is
split across stacks, and the bound keeps absurd inputs (1e308 requests/s) from overflowing the arithmetic."""

# Rejection reasons, in the order a candidate meets them; the latest stage any candidate reached is the
# constraint that binds when nothing is feasible.
REASONS: tuple[str, ...] = (
    "cloud_not_allowed",
    "region_not_allowed",
    "accelerator_not_allowed",
    "accelerator_denied",
    "no_measurement_for_accelerator",
    "precision_unsupported",
    "too_few_zones",
    "not_offered",
    "quota",
    "tensor_parallel_indivisible",
    "does_not_fit_in_memory",
    "tpot_slo_unreachable",
    "ttft_slo_unreachable",
    "latency_slo_unreachable",
    "too_many_nodes",
    "pricing_not_offered",
    "over_budget",
)
_STAGE = {reason: i for i, reason in enumerate(REASONS)}

_RELAX_HINT = {
    "cloud_not_allowed": "add clouds to placement.clouds",
    "region_not_allowed": "add regions to placement.regions (or leave it empty for any)",
    "accelerator_not_allowed": "widen placement.accelerators_allowed",
    "accelerator_denied": "remove entries from placement.accelerators_denied",
    "no_measurement_for_accelerator": "add model.measured.throughput figures for more accelerators",
    "precision_unsupported": "use model.precision bf16/fp16 or int4/int8, or allow Ampere-or-newer accelerators",
    "too_few_zones": "lower availability.zones",
    "not_offered": "the cloud does not offer these types in enough zones for this account: allow other regions",
    "quota": "raise the GPU quotas the preflight names (see the plan's preflight section), or allow other regions",
    "tensor_parallel_indivisible": "allow nodes whose GPU count divides the model's attention heads",
    "does_not_fit_in_memory": "use a lower model.precision or allow accelerators with more memory",
    "ttft_slo_unreachable": "raise slo.ttft_ms_p95 or shorten avg_input_tokens",
    "tpot_slo_unreachable": "raise slo.tpot_ms_p95 or allow faster accelerators",
    "latency_slo_unreachable": "raise slo.latency_ms_p95",
    "too_many_nodes": (
        f"lower traffic.peak_requests_per_s or availability.min_replicas (one stack runs at most "
        f"{MAX_GPU_NODES} GPU nodes), or split the workload across stacks"
    ),
    "pricing_not_offered": "change pricing.spot / pricing.commitment",
    "over_budget": "raise budget.monthly_usd",
}


@dataclass(frozen=True, slots=True)
class Layout:
    """How one replica uses an instance type."""

    tensor_parallel: int
    """Accelerators per node that one replica uses (tensor parallel inside the node)."""
    nodes_per_replica: int
    """>1 means pipeline parallel across nodes over the offering's multi-node fabric."""
    replicas_per_node: int
    """How many replicas share one node (1 when a replica uses a whole node or more)."""


@dataclass(frozen=True, slots=True)
class ReplicaPerformance:
    """One replica's operating point: the highest load at which the SLOs still hold."""

    requests_per_s: float
    output_tokens_per_s: float
    ttft_ms: float
    tpot_ms: float
    max_concurrent_sequences: int
    batch: int
    weights_gib: float
    classes: tuple[ClassLatency, ...] = ()
    """Per request class at the operating point (a `traffic.request_mix`); empty for average-only traffic."""

    def class_estimates(self) -> dict[str, dict[str, float]]:
        """Per-class `estimate` of the plan JSON."""
        return {
            c.name: {"requests_per_s_per_replica": round(c.requests_per_s, 4), "ttft_ms": round(c.ttft_ms, 2),
                     "tpot_ms": round(c.tpot_ms, 2)}
            for c in self.classes
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A feasible stack: one offering, one layout, one pricing combination, sized for the traffic."""

    cloud: str
    region: str
    zones: int
    instance_type: str
    accelerator: str
    accelerators_per_node: int
    layout: Layout
    replicas_min: int
    replicas_avg: int
    replicas_peak: int
    nodes_min: int
    nodes_avg: int
    nodes_peak: int
    pricing_base: PricingMode
    pricing_burst: PricingMode
    hourly_usd_per_node: float
    """USD per node-hour of the always-on floor (pricing_base)."""
    hourly_usd_per_node_burst: float
    monthly_usd_expected: float
    monthly_usd_ceiling: float
    root_volume_gib: int
    performance: ReplicaPerformance
    offering: Offering = field(repr=False, compare=False)
    spot_alternates: tuple[Offering, ...] = field(default=(), repr=False, compare=False)
    """Other instance types the spot pool may launch; its spot nodes are priced at the dearest of them all."""

    @property
    def spot_instance_types(self) -> list[str]:
        """Every instance type the spot pool may launch (this candidate's first); empty without a spot pool."""
        if not self.spot_alternates:
            return []
        return [self.instance_type, *(o.instance_type for o in self.spot_alternates)]

    def deployment(self, spec: WorkloadSpec, catalog: Catalog) -> Deployment:
        """The deployment contract of this candidate (raises SpecError naming model.checkpoint when the
        spec's precision has no known checkpoint)."""
        counts = shape.Counts(self.replicas_min, self.replicas_avg, self.replicas_peak,
                              self.nodes_min, self.nodes_avg, self.nodes_peak)
        return deployment_for(
            spec, self.offering, catalog.accelerators[self.accelerator],
            tensor_parallel=self.layout.tensor_parallel, nodes_per_replica=self.layout.nodes_per_replica,
            counts=counts, pricing_base=self.pricing_base, pricing_burst=self.pricing_burst,
            price_base=self.hourly_usd_per_node, price_burst=self.hourly_usd_per_node_burst,
            weights_gib=self.performance.weights_gib, spot_alternates=self.spot_alternates,
        )

    def to_json(self) -> dict[str, Any]:
        """The plan JSON CANDIDATE of ARCHITECTURE.md, then the extra fields `plan --write` needs."""
        p = self.performance
        return {
            "cloud": self.cloud,
            "region": self.region,
            "instance_type": self.instance_type,
            "accelerator": self.accelerator,
            "accelerators_per_node": self.accelerators_per_node,
            "tensor_parallel": self.layout.tensor_parallel,
            "replicas_min": self.replicas_min,
            "replicas_peak": self.replicas_peak,
            "nodes_min": self.nodes_min,
            "nodes_peak": self.nodes_peak,
            "pricing_base": self.pricing_base,
            "pricing_burst": self.pricing_burst,
            "hourly_usd_per_node": round(self.hourly_usd_per_node, 6),
            "price_1y_estimated": self.offering.price_1y_estimated,
            "price_3y_estimated": self.offering.price_3y_estimated,
            "monthly_usd_expected": round(self.monthly_usd_expected, 2),
            "monthly_usd_ceiling": round(self.monthly_usd_ceiling, 2),
            "estimate": {
                "output_tokens_per_s_per_replica": round(p.output_tokens_per_s, 2),
                "ttft_ms": round(p.ttft_ms, 2),
                "tpot_ms": round(p.tpot_ms, 2),
                "max_concurrent_sequences": p.max_concurrent_sequences,
                "requests_per_s_per_replica": round(p.requests_per_s, 4),
                "batch": p.batch,
                "weights_gib": round(p.weights_gib, 2),
            },
            "zones": self.zones,
            "nodes_per_replica": self.layout.nodes_per_replica,
            "replicas_per_node": self.layout.replicas_per_node,
            "replicas_avg": self.replicas_avg,
            "nodes_avg": self.nodes_avg,
            "hourly_usd_per_node_burst": round(self.hourly_usd_per_node_burst, 6),
            "root_volume_gib": self.root_volume_gib,
            **({"spot_instance_types": self.spot_instance_types} if self.spot_alternates else {}),
        }


@dataclass(frozen=True)
class Plan:
    """The selector's answer: feasible candidates (cheapest first) and why everything else was rejected."""

    workload: str
    catalog_as_of: str
    catalog_offerings: int
    candidates: tuple[Candidate, ...]
    rejected: dict[str, int]
    binding_constraint: str | None = None
    """When infeasible: the spec field to relax (the latest stage any alternative reached)."""
    hint: str | None = None
    closest: tuple[Candidate, ...] = field(default_factory=tuple)
    """When infeasible because of the budget: the cheapest stacks that meet everything else."""
    best_latency: dict[str, float] = field(default_factory=dict)
    """When SLOs bind: the lowest TTFT/TPOT any allowed layout reaches at batch 1 (ms)."""
    mixed: MixedFleet | None = None
    """With a request mix: the mixed fleet (several pools, one cluster), when it beats `chosen` (the best
    homogeneous stack). The plan JSON's `chosen` is then the mixed fleet."""
    class_names: tuple[str, ...] = ("all",)

    @property
    def feasible(self) -> bool:
        return bool(self.candidates) or self.mixed is not None

    @property
    def chosen(self) -> Candidate | None:
        """The best single-accelerator stack; when only a mixed fleet fits the budget, its largest pool (the
        offering whose cloud, region and serving values the fleet's stack shares)."""
        if self.candidates:
            return self.candidates[0]
        if self.mixed is not None:
            return self.mixed.primary.candidate
        return None

    def homogeneous_json(self, candidate: Candidate) -> dict[str, Any]:
        """A single-pool CANDIDATE, with `pools` listing that one pool and every class it serves."""
        out = candidate.to_json()
        pool = {"name": self.workload, **candidate.to_json(), "classes": list(self.class_names),
                "class_estimates": candidate.performance.class_estimates()}
        out["pools"] = [pool]
        return out

    def chosen_json(self) -> dict[str, Any] | None:
        if self.mixed is not None:
            return self.mixed.to_json()
        return self.homogeneous_json(self.chosen) if self.chosen else None

    def to_json(self) -> dict[str, Any]:
        candidates = [self.homogeneous_json(c) for c in self.candidates]
        if self.mixed is not None:
            candidates.insert(0, self.mixed.to_json())
        out: dict[str, Any] = {
            "workload": self.workload,
            "feasible": self.feasible,
            "catalog": {"as_of": self.catalog_as_of, "offerings": self.catalog_offerings},
            "chosen": self.chosen_json(),
            "candidates": candidates,
            "rejected": dict(self.rejected),
        }
        if not self.feasible:
            out["binding_constraint"] = self.binding_constraint
            out["hint"] = self.hint
            out["closest"] = [c.to_json() for c in self.closest]
            out["best_latency_ms"] = self.best_latency
        return out


def replica_layouts(accelerators_per_node: int, fits_on_one_node: bool, multi_node: bool) -> list[Layout]:
    """Every layout of one replica on a node with `accelerators_per_node` devices.

    Tensor parallel degrees are the powers of two up to the node size, plus the whole node; a degree that
    does not divide the model's attention heads is rejected later (`tensor_parallel_indivisible`).
    Pipeline layouts across 2..MAX_PIPELINE_NODES nodes only when the model does not fit one full node
    and the offering has a multi-node fabric.
    """
    degrees = {accelerators_per_node}
    d = 1
    while d < accelerators_per_node:
        degrees.add(d)
        d *= 2
    layouts = [Layout(tp, 1, accelerators_per_node // tp) for tp in sorted(degrees)]
    if not fits_on_one_node and multi_node:
        layouts += [Layout(accelerators_per_node, k, 1) for k in range(2, MAX_PIPELINE_NODES + 1)]
    return layouts


def pricing_combinations(spot: str, commitment: str) -> list[tuple[PricingMode, PricingMode]]:
    """(pricing_base, pricing_burst) pairs the spec's pricing policy allows."""
    bases: list[PricingMode] = ["on_demand"]
    if commitment in ("1y", "3y"):
        bases.append(commitment)  # type: ignore[arg-type]  # narrowed by the membership test
    if spot == "only":
        return [("spot", "spot")]
    bursts: list[PricingMode] = ["on_demand", "spot"] if spot == "allowed" else ["on_demand"]
    return [(b, u) for b in bases for u in bursts]


class _Sizer:
    """Replica performance per (accelerator, layout), computed once per plan."""

    def __init__(self, spec: WorkloadSpec, catalog: Catalog, placement: ResolvedPlacement) -> None:
        self.spec = spec
        self.catalog = catalog
        self.placement = placement
        self.arch = spec.model.resolved_architecture()
        self._cache: dict[tuple[str, int, int, bool], ReplicaPerformance | str] = {}
        self._fits_one_node: dict[tuple[str, int], bool] = {}
        self.best_ttft = math.inf
        self.best_tpot = math.inf

    def fits_on_one_node(self, accelerator: Accelerator, per_node: int) -> bool:
        key = (accelerator.id, per_node)
        if key not in self._fits_one_node:
            result = self.performance(accelerator, Layout(per_node, 1, 1), multi_node=False)
            self._fits_one_node[key] = not (isinstance(result, str) and result == "does_not_fit_in_memory")
        return self._fits_one_node[key]

    def performance(self, accelerator: Accelerator, layout: Layout, multi_node: bool) -> ReplicaPerformance | str:
        """The replica's operating point, or the rejection reason."""
        key = (accelerator.id, layout.tensor_parallel, layout.nodes_per_replica, multi_node)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._compute(accelerator, layout, multi_node)
            self._cache[key] = cached
        return cached

    def _compute(self, accelerator: Accelerator, layout: Layout, multi_node: bool) -> ReplicaPerformance | str:
        spec = self.spec
        if self.arch is None:
            return self._measured(accelerator, layout)
        if spec.traffic.request_mix is not None:
            return self._mix(accelerator, layout, multi_node)
        from servestack.sizing import estimate

        est = estimate(
            self.arch,
            spec.model.precision,
            accelerator,
            layout.tensor_parallel,
            layout.nodes_per_replica,
            spec.traffic.avg_input_tokens,
            spec.traffic.avg_output_tokens,
            context_tokens=spec.model.context_tokens,
            multi_node_network=multi_node,
        )
        if not est.fits:
            # Sizing owns feasibility (precision support, head divisibility, memory), so `estimate` and
            # `plan` give the same answer for the same pair.
            return est.reason_code or "does_not_fit_in_memory"
        fastest = est.operating_point(None, None)
        if fastest is not None:
            self.best_ttft = min(self.best_ttft, est.ttft_at_batch_1_ms())
            self.best_tpot = min(self.best_tpot, est.tpot_at_batch_1_ms())
        op = est.operating_point(spec.slo.tpot_ms_p95, spec.slo.ttft_ms_p95)
        if op is None:
            if est.operating_point(spec.slo.tpot_ms_p95, None) is None:
                return "tpot_slo_unreachable"
            return "ttft_slo_unreachable"
        return ReplicaPerformance(
            requests_per_s=op.requests_per_s,
            output_tokens_per_s=op.output_tokens_per_s,
            ttft_ms=op.ttft_ms,
            tpot_ms=op.tpot_ms,
            max_concurrent_sequences=est.max_concurrent_sequences,
            batch=op.batch,
            weights_gib=est.weights_gib,
        )

    def _mix(self, accelerator: Accelerator, layout: Layout, multi_node: bool) -> ReplicaPerformance | str:
        """A replica serving the spec's request mix (servestack.sizing.mix); every class meets the SLOs."""
        from servestack.sizing.mix import MIN_CONCURRENCY, MixClass, mix_replica

        spec = self.spec
        assert self.arch is not None
        replica = mix_replica(
            self.arch, spec.model.precision, accelerator, layout.tensor_parallel, layout.nodes_per_replica,
            [MixClass(*c) for c in spec.traffic.classes()], context_tokens=spec.model.context_tokens,
            multi_node_network=multi_node,
        )
        if not replica.fits:
            return replica.reason_code or "does_not_fit_in_memory"
        idle = replica.point(MIN_CONCURRENCY)
        self.best_ttft = min(self.best_ttft, idle.ttft_ms)
        self.best_tpot = min(self.best_tpot, idle.tpot_ms)
        op = replica.operating_point(spec.slo.tpot_ms_p95, spec.slo.ttft_ms_p95)
        if op is None:
            return replica.slo_failure(spec.slo.tpot_ms_p95, spec.slo.ttft_ms_p95)
        return ReplicaPerformance(
            requests_per_s=op.requests_per_s,
            output_tokens_per_s=op.output_tokens_per_s,
            ttft_ms=op.ttft_ms,
            tpot_ms=op.tpot_ms,
            max_concurrent_sequences=replica.max_concurrent_sequences,
            batch=max(1, round(op.concurrency)),
            weights_gib=replica.weights_gib,
            classes=op.classes,
        )

    def _measured(self, accelerator: Accelerator, layout: Layout) -> ReplicaPerformance | str:
        measured = self.spec.model.measured
        assert measured is not None  # an architecture-less model is measured by validation
        index = self.placement.measured_accelerators.get(accelerator.id)
        if index is None:
            return "no_measurement_for_accelerator"
        point = measured.throughput[index]
        if layout.tensor_parallel != point.accelerators_per_replica or layout.nodes_per_replica != 1:
            return "no_measurement_for_accelerator"
        if measured.memory_gib > accelerator.memory_gib * layout.tensor_parallel:
            return "does_not_fit_in_memory"
        self.best_ttft = min(self.best_ttft, point.latency_ms_p95)
        slo = self.spec.slo.latency_ms_p95
        if slo is not None and point.latency_ms_p95 > slo:
            return "latency_slo_unreachable"
        return ReplicaPerformance(
            requests_per_s=point.requests_per_s,
            output_tokens_per_s=point.requests_per_s * self.spec.traffic.avg_output_tokens,
            ttft_ms=point.latency_ms_p95,
            tpot_ms=0.0,
            max_concurrent_sequences=0,
            batch=0,
            weights_gib=measured.memory_gib,
        )


def _replicas_for(rate: float, capacity: float) -> int:
    # A hair of tolerance so 10.0 / 2.5 does not round up to 5 replicas on float noise.
    return math.ceil(rate / capacity - 1e-9)


@dataclass(frozen=True, slots=True)
class _Sized:
    """A layout sized for the traffic: everything about a candidate except its prices.

    Shared by every offering with the same cloud, accelerator and node shape, so the per-offering
    work in the hot loop is a handful of multiplications.
    """

    layout: Layout
    perf: ReplicaPerformance
    replicas_min: int
    replicas_avg: int
    replicas_peak: int
    nodes_min: int
    nodes_avg: int
    nodes_peak: int
    root_volume_gib: int
    platform_expected: float
    platform_ceiling: float
    burst_nodes_avg: int
    """Nodes above the floor (`nodes_min`) on average and at peak: billed at the burst rate."""
    burst_nodes_peak: int


def _size(spec: WorkloadSpec, cloud: str, layout: Layout, perf: ReplicaPerformance) -> _Sized | str:
    zones = spec.availability.zones
    floor = max(spec.availability.min_replicas, zones)
    # Checked in floats before any rounding: a huge ratio would overflow math.ceil and the price arithmetic.
    peak_ratio = max(float(floor), spec.traffic.peak_requests_per_s / perf.requests_per_s)
    peak_nodes = peak_ratio * layout.nodes_per_replica / layout.replicas_per_node
    if not math.isfinite(peak_nodes) or peak_nodes > MAX_GPU_NODES:
        return "too_many_nodes"
    # The contract owns how replicas, nodes and zones relate (servestack.contract.shape).
    c = shape.size_counts(
        cloud=cloud, floor=floor, zones=zones, per_node=layout.replicas_per_node,
        nodes_per_replica=layout.nodes_per_replica,
        needed_avg=_replicas_for(spec.traffic.avg_requests_per_s, perf.requests_per_s),
        needed_peak=_replicas_for(spec.traffic.peak_requests_per_s, perf.requests_per_s),
    )
    checkpoint = checkpoint_gib(spec, perf.weights_gib)
    volume = shape.root_volume_gib(checkpoint)
    # AWS root volumes are gp3 tuned so the checkpoint reads in minutes; the extras are billed per node.
    throughput = shape.volume_throughput_mibps(checkpoint) if cloud == "aws" else 0
    iops = shape.volume_iops(throughput) if cloud == "aws" else 0
    return _Sized(
        layout, perf, c.replicas_min, c.replicas_avg, c.replicas_peak, c.nodes_min, c.nodes_avg, c.nodes_peak,
        volume, platform_monthly_usd(cloud, zones, c.nodes_avg, volume, throughput, iops),
        platform_monthly_usd(cloud, zones, c.nodes_peak, volume, throughput, iops),
        c.nodes_avg - c.nodes_min, c.nodes_peak - c.nodes_min,
    )


@dataclass(frozen=True, slots=True)
class _Priced:
    """The cheapest pricing combination of one (offering, layout) that passes the budget."""

    offering: Offering
    sized: _Sized
    base: PricingMode
    burst: PricingMode
    base_price: float
    burst_price: float
    expected: float
    ceiling: float
    spot_alternates: tuple[Offering, ...] = ()

    def rank_key(self) -> tuple[Any, ...]:
        o, layout = self.offering, self.sized.layout
        diversified = _diversified(self.base, self.burst, self.sized.burst_nodes_peak, self.spot_alternates)
        return (
            round(self.expected, 6), round(self.ceiling, 6), -diversified, o.cloud, o.region, o.instance_type,
            layout.tensor_parallel, layout.nodes_per_replica, self.base, self.burst,
        )

    def candidate(self, zones: int) -> Candidate:
        o, z = self.offering, self.sized
        return Candidate(
            cloud=o.cloud, region=o.region, zones=zones, instance_type=o.instance_type, accelerator=o.accelerator,
            accelerators_per_node=o.accelerators_per_node, layout=z.layout, replicas_min=z.replicas_min,
            replicas_avg=z.replicas_avg, replicas_peak=z.replicas_peak, nodes_min=z.nodes_min,
            nodes_avg=z.nodes_avg, nodes_peak=z.nodes_peak, pricing_base=self.base, pricing_burst=self.burst,
            hourly_usd_per_node=self.base_price, hourly_usd_per_node_burst=self.burst_price,
            monthly_usd_expected=self.expected, monthly_usd_ceiling=self.ceiling,
            root_volume_gib=z.root_volume_gib, performance=z.perf, offering=o,
            spot_alternates=self.spot_alternates if "spot" in (self.base, self.burst) else (),
        )


def _diversified(base: PricingMode, burst: PricingMode, burst_nodes_peak: int, alternates: tuple[Offering, ...]) -> int:
    """How many extra spot types the pool may launch, counted only when it runs spot nodes at all.

    Spot priced at the dearest type makes a diversified pool cost what its dearest type costs alone; at that
    tie the diversified pool wins (it finds capacity in more pools, and often bills less). A spot burst pool
    that never scales above the floor runs no spot node, so it gains nothing over an on-demand one."""
    runs_spot = base == "spot" or (burst == "spot" and burst_nodes_peak > 0)
    return len(alternates) if runs_spot else 0


def _price(
    offering: Offering, z: _Sized, combos: list[tuple[PricingMode, PricingMode]], budget: float | None,
    alternates: tuple[Offering, ...] = (),
) -> _Priced | str:
    """The cheapest combination within budget, else why none qualifies.

    A spot pool may also launch `alternates` (capacity diversification) and is priced at the dearest type."""
    best: _Priced | None = None
    best_key: tuple[Any, ...] = ()
    priced = False
    floor_nodes = z.nodes_min
    for base, burst in combos:
        # The plan prices a commitment as bought: `plan --write` records that it must be bought
        # (servestack:commitmentPurchased), and the cost engine bills it on-demand until it is.
        pb = pool_hourly_usd(offering, base, alternates)
        pu = pool_hourly_usd(offering, burst, alternates)
        if pb is None or pu is None:
            continue
        priced = True
        ceiling = nodes_monthly_usd(pb, floor_nodes, pu, z.burst_nodes_peak) + z.platform_ceiling
        if budget is not None and ceiling > budget:
            continue
        expected = nodes_monthly_usd(pb, floor_nodes, pu, z.burst_nodes_avg) + z.platform_expected
        key = (round(expected, 6), round(ceiling, 6), -_diversified(base, burst, z.burst_nodes_peak, alternates),
               base, burst)
        if best is None or key < best_key:
            best = _Priced(offering, z, base, burst, pb, pu, expected, ceiling, alternates)
            best_key = key
    if best is not None:
        return best
    return "over_budget" if priced else "pricing_not_offered"


def _placement_reason(offering: Offering, placement: ResolvedPlacement) -> str | None:
    if offering.cloud not in placement.clouds:
        return "cloud_not_allowed"
    if placement.regions is not None and (offering.cloud, offering.region) not in placement.regions:
        return "region_not_allowed"
    if placement.allowed is not None and offering.accelerator not in placement.allowed:
        return "accelerator_not_allowed"
    if offering.accelerator in placement.denied:
        return "accelerator_denied"
    return None


Exclude = Callable[[Offering], "str | None"]
"""A caller's veto of an offering, checked after placement: a REASONS entry (`not_offered`, `quota`) or None."""


def evaluate(
    spec: WorkloadSpec, catalog: Catalog, sizer: _Sizer, exclude: Exclude | None = None
) -> Iterator[tuple[Offering, _Priced | str]]:
    """Every alternative the spec allows, each with its cheapest feasible pricing or its rejection reason.

    One row per (offering, layout); placement filters and `exclude` yield one row per offering.
    """
    placement = sizer.placement
    combos = pricing_combinations(spec.pricing.spot, spec.pricing.commitment)
    budget = spec.budget.monthly_usd
    zones_needed = spec.availability.zones
    shapes: dict[tuple[str, str, int, bool], list[_Sized | str]] = {}
    # Offerings a spot pool may diversify into: allowed by placement and not vetoed, grouped by peer key.
    spot_peers: dict[tuple[str, str, str, int], list[Offering]] | None = None
    prices_spot = any("spot" in combo for combo in combos)
    for offering in catalog.offerings:
        reason = _placement_reason(offering, placement)
        if reason is not None:
            yield offering, reason
            continue
        if offering.zones and len(offering.zones) < zones_needed:
            yield offering, "too_few_zones"
            continue
        vetoed = exclude(offering) if exclude is not None else None
        if vetoed is not None:
            yield offering, vetoed
            continue
        multi_node = offering.multi_node_network is not None
        key = (offering.cloud, offering.accelerator, offering.accelerators_per_node, multi_node)
        sized = shapes.get(key)
        if sized is None:
            sized = shapes[key] = _shape(spec, catalog, sizer, key)
        peers: list[Offering] = []
        if prices_spot and offering.cloud == "aws" and offering.price_spot is not None:
            if spot_peers is None:
                spot_peers = _spot_peers(catalog, placement, exclude)
            peers = spot_peers.get(spot_peer_key(offering), [])
        for z in sized:
            if isinstance(z, str):
                yield offering, z
                continue
            alternates = spot_alternates(
                offering, peers, zones=zones_needed, replicas_per_node=z.layout.replicas_per_node,
                nodes_per_replica=z.layout.nodes_per_replica,
            ) if len(peers) > 1 else ()
            yield offering, _price(offering, z, combos, budget, alternates)


def _spot_peers(
    catalog: Catalog, placement: ResolvedPlacement, exclude: Exclude | None
) -> dict[tuple[str, str, str, int], list[Offering]]:
    peers: dict[tuple[str, str, str, int], list[Offering]] = {}
    for o in catalog.offerings:
        if o.cloud != "aws" or o.price_spot is None or _placement_reason(o, placement) is not None:
            continue
        if exclude is not None and exclude(o) is not None:
            continue
        peers.setdefault(spot_peer_key(o), []).append(o)
    return peers


def _shape(spec: WorkloadSpec, catalog: Catalog, sizer: _Sizer, key: tuple[str, str, int, bool]) -> list[_Sized | str]:
    cloud, accelerator_id, per_node, multi_node = key
    accelerator = catalog.accelerators[accelerator_id]
    fits = sizer.fits_on_one_node(accelerator, per_node) if sizer.arch else True
    out: list[_Sized | str] = []
    for layout in replica_layouts(per_node, fits, multi_node):
        perf = sizer.performance(accelerator, layout, multi_node)
        out.append(perf if isinstance(perf, str) else _size(spec, cloud, layout, perf))
    return out


def plan(
    spec: WorkloadSpec, catalog: Catalog, top: int = 5, exclude: Exclude | None = None, *, mixed: bool = True
) -> Plan:
    """Rank the feasible stacks for `spec` on `catalog` (cheapest expected monthly cost first).

    `exclude` vetoes offerings the caller knows cannot launch (the live preflight: quotas, zone offerings).
    With several request classes and `mixed`, a mixed fleet (servestack.selector.mixed) is tried too."""
    sizer = _Sizer(spec, catalog, resolve_placement(spec, catalog))
    feasible: list[_Priced] = []
    rejected: Counter[str] = Counter()
    for _offering, outcome in evaluate(spec, catalog, sizer, exclude):
        if isinstance(outcome, str):
            rejected[outcome] += 1
        else:
            feasible.append(outcome)
    zones = spec.availability.zones
    ranked = tuple(p.candidate(zones) for p in heapq.nsmallest(max(top, 1), feasible, key=_Priced.rank_key))
    ordered_rejections = dict(sorted(rejected.items(), key=lambda kv: (_STAGE[kv[0]], kv[0])))
    as_of, count = catalog.as_of, len(catalog.offerings)
    names = tuple(c[0] for c in spec.traffic.classes())
    if ranked:
        fleet = None
        if mixed and len(names) > 1:
            from servestack.selector.mixed import mixed_fleet

            fleet = mixed_fleet(spec, catalog, ranked[0], exclude)
        return Plan(spec.name, as_of, count, ranked, ordered_rejections, mixed=fleet, class_names=names)
    infeasible = _infeasible(spec, catalog, sizer, ordered_rejections, as_of, count, top, exclude)
    if mixed and len(names) > 1 and infeasible.binding_constraint == "over_budget" and infeasible.closest:
        # Every single-accelerator stack is over budget; pools sized per class may still fit it.
        from servestack.selector.mixed import mixed_fleet

        fleet = mixed_fleet(spec, catalog, infeasible.closest[0], exclude, homogeneous_over_budget=True)
        if fleet is not None:
            return dataclasses.replace(infeasible, mixed=fleet, class_names=names)
    return infeasible


def _infeasible(
    spec: WorkloadSpec,
    catalog: Catalog,
    sizer: _Sizer,
    rejected: dict[str, int],
    as_of: str,
    count: int,
    top: int,
    exclude: Exclude | None = None,
) -> Plan:
    if not rejected:
        return Plan(spec.name, as_of, count, (), rejected, "placement", "the catalog has no offerings")
    binding = max(rejected, key=lambda r: _STAGE[r])
    hint = _RELAX_HINT[binding]
    closest: tuple[Candidate, ...] = ()
    best_latency: dict[str, float] = {}
    if binding == "over_budget":
        unbudgeted = spec.model_copy(update={"budget": spec.budget.model_copy(update={"monthly_usd": None})})
        relaxed_sizer = _Sizer(unbudgeted, catalog, sizer.placement)
        relaxed = [o for _, o in evaluate(unbudgeted, catalog, relaxed_sizer, exclude) if not isinstance(o, str)]
        cheapest = heapq.nsmallest(max(top, 1), relaxed, key=lambda p: (round(p.ceiling, 6), p.rank_key()))
        closest = tuple(p.candidate(spec.availability.zones) for p in cheapest)
        if closest:
            hint = f"raise budget.monthly_usd to at least {math.ceil(closest[0].monthly_usd_ceiling)}"
    elif binding in ("ttft_slo_unreachable", "tpot_slo_unreachable", "latency_slo_unreachable"):
        if math.isfinite(sizer.best_ttft):
            best_latency["ttft_ms"] = round(sizer.best_ttft, 2)
        if math.isfinite(sizer.best_tpot):
            best_latency["tpot_ms"] = round(sizer.best_tpot, 2)
        field_name = {"ttft_slo_unreachable": "ttft", "tpot_slo_unreachable": "tpot"}.get(binding)
        if field_name and field_name + "_ms" in best_latency:
            hint += f" (the fastest allowed stack reaches {best_latency[field_name + '_ms']} ms at batch 1)"
    return Plan(spec.name, as_of, count, (), rejected, binding, hint, closest, best_latency)


def all_candidates(spec: WorkloadSpec, catalog: Catalog) -> list[Candidate]:
    """Every feasible candidate (the cheapest pricing per offering and layout), unranked."""
    sizer = _Sizer(spec, catalog, resolve_placement(spec, catalog))
    zones = spec.availability.zones
    return [o.candidate(zones) for _, o in evaluate(spec, catalog, sizer) if not isinstance(o, str)]
