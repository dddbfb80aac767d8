"""One replica serving a mix of request size classes: KV memory, throughput and per-class latency.

Built on the single-class equations of `servestack.sizing.model` (each class's prefill cost and latency,
the decode step); the combination is written up in docs/performance-model.md ("Request mixes"):

- Concurrency `B` is the replica's mean number of sequences in flight (Little's law, so not an integer).
  Class i holds a share w_i = s_i x out_i / sum_j s_j x out_j of them: a request stays in the batch for its
  output tokens, so long answers occupy more slots than their share of requests.
- KV memory: B x sum_i w_i x blocks_i paged blocks must fit the replica's KV cache.
- Decode step: one step over B sequences whose mean context is sum_i w_i x (in_i + out_i / 2); the step
  equation is linear in tokens of context, so the mean context gives the mixed batch's step.
- Throughput: a request costs its class's prefill share plus out_i decode slots of step/B; the replica's
  requests/s is 1 / sum_i s_i x (prefill_cost_i + out_i x step / B).
- TPOT: every sequence in the batch advances once per step, so one TPOT for all classes (B / output tokens/s).
- TTFT: an M/G/1 processor-sharing approximation of the prefill server. Chunked prefill shares the
  replica's prefill capacity among the prompts in flight; under processor sharing a job of size x takes
  x / (1 - rho) on average, whatever the size distribution, where rho is the share of replica time spent on
  prefill. So class i's TTFT = one decode step + its lone prefill latency / (1 - rho): the long prompts wait
  longest, and rho grows with the long prompts' share. With one class this is the single-class model exactly.
- The SLO holds for every class (see the docs for why not the p95 over the mix).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from servestack.catalog.types import Accelerator
from servestack.sizing.model import KV_BLOCK_TOKENS, MAX_BATCH, Estimate, ReplicaModel, estimate
from servestack.workload.known_models import ModelArchitecture

__all__ = ["MixClass", "ClassLatency", "MixPoint", "MixReplica", "mix_replica", "BUSY_CAP", "MIN_CONCURRENCY"]

BUSY_CAP = 0.95
"""Highest prefill share of replica time the TTFT equation accepts (the single-class model's cap)."""
MIN_CONCURRENCY = 1e-3
"""Lowest mean concurrency searched: a replica idle most of the time still serves its requests."""
_BISECTION_STEPS = 80


@dataclass(frozen=True, slots=True)
class MixClass:
    """A request size class: share of the requests this replica serves, and token lengths."""

    name: str
    share: float
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class ClassLatency:
    """One class at an operating point."""

    name: str
    requests_per_s: float
    ttft_ms: float
    tpot_ms: float


@dataclass(frozen=True, slots=True)
class MixPoint:
    """The replica at mean concurrency `concurrency`."""

    concurrency: float
    requests_per_s: float
    output_tokens_per_s: float
    tpot_ms: float
    classes: tuple[ClassLatency, ...]

    @property
    def ttft_ms(self) -> float:
        """The slowest class's TTFT (every class must meet the SLO)."""
        return max(c.ttft_ms for c in self.classes)


@dataclass(frozen=True, slots=True)
class MixReplica:
    """A replica layout sized for a mix; `fits` False (with the sizing reason) when the model does not fit."""

    fits: bool
    reason_code: str | None
    classes: tuple[MixClass, ...]
    estimates: tuple[Estimate, ...]
    max_concurrency: float
    """Mean concurrency the KV cache holds for this mix (and the scheduler's batch cap)."""
    weights_gib: float
    _step_model: ReplicaModel | None = None

    @property
    def max_concurrent_sequences(self) -> int:
        return int(self.max_concurrency)

    def _slot_weights(self) -> list[float]:
        slots = [c.share * c.output_tokens for c in self.classes]
        total = sum(slots)
        return [s / total for s in slots]

    def point(self, concurrency: float) -> MixPoint:
        """Throughput and per-class latency at mean concurrency `concurrency` (see the module doc)."""
        assert self._step_model is not None, "point() of a replica that does not fit"
        b = concurrency
        step = self._step_model.decode_step_s(b)
        models = [cast(ReplicaModel, e.model) for e in self.estimates]
        costs = [m.prefill_cost_s() for m in models]
        seconds_per_request = sum(
            c.share * (cost + c.output_tokens * step / b) for c, cost in zip(self.classes, costs, strict=True)
        )
        rps = 1.0 / seconds_per_request
        mean_out = sum(c.share * c.output_tokens for c in self.classes)
        out_tps = rps * mean_out
        busy = min(rps * sum(c.share * cost for c, cost in zip(self.classes, costs, strict=True)), BUSY_CAP)
        tpot_ms = b / out_tps * 1e3
        latencies = tuple(
            ClassLatency(c.name, rps * c.share, (step + m.prefill_latency_s() / (1.0 - busy)) * 1e3, tpot_ms)
            for c, m in zip(self.classes, models, strict=True)
        )
        return MixPoint(b, rps, out_tps, tpot_ms, latencies)

    def operating_point(self, tpot_slo_ms: float | None, ttft_slo_ms: float | None) -> MixPoint | None:
        """The highest-throughput point where every class meets both SLOs; None when even an idle replica misses.

        Throughput, TPOT and every TTFT grow with concurrency, so bisection finds the largest feasible one.
        """
        if not self.fits:
            return None

        def ok(b: float) -> bool:
            p = self.point(b)
            tpot_ok = tpot_slo_ms is None or p.tpot_ms <= tpot_slo_ms
            return tpot_ok and (ttft_slo_ms is None or p.ttft_ms <= ttft_slo_ms)

        lo, hi = MIN_CONCURRENCY, self.max_concurrency
        if not ok(lo):
            return None
        if ok(hi):
            return self.point(hi)
        for _ in range(_BISECTION_STEPS):
            mid = (lo + hi) / 2.0
            if ok(mid):
                lo = mid
            else:
                hi = mid
        return self.point(lo)

    def slo_failure(self, tpot_slo_ms: float | None, ttft_slo_ms: float | None) -> str:
        """Which SLO an idle replica already misses: `tpot_slo_unreachable` or `ttft_slo_unreachable`."""
        p = self.point(MIN_CONCURRENCY)
        if tpot_slo_ms is not None and p.tpot_ms > tpot_slo_ms:
            return "tpot_slo_unreachable"
        return "ttft_slo_unreachable"


def mix_replica(
    arch: ModelArchitecture,
    precision: str,
    accelerator: Accelerator,
    tensor_parallel: int,
    nodes: int,
    classes: Sequence[MixClass],
    *,
    context_tokens: int,
    multi_node_network: bool = False,
) -> MixReplica:
    """Size one replica layout for `classes` (shares are renormalised to 1 over the classes given)."""
    total = sum(c.share for c in classes)
    normalised = tuple(dataclasses.replace(c, share=c.share / total) for c in classes)
    estimates = tuple(
        estimate(arch, precision, accelerator, tensor_parallel, nodes, c.input_tokens, c.output_tokens,
                 context_tokens=context_tokens, multi_node_network=multi_node_network)
        for c in normalised
    )
    first = estimates[0]
    if not all(e.fits for e in estimates):
        failed = next(e for e in estimates if not e.fits)
        return MixReplica(False, failed.reason_code or "does_not_fit_in_memory", normalised, estimates, 0.0,
                          failed.weights_gib)
    slots = [c.share * c.output_tokens for c in normalised]
    weights = [s / sum(slots) for s in slots]
    blocks_per_sequence = sum(
        w * math.ceil((c.input_tokens + c.output_tokens) / KV_BLOCK_TOKENS)
        for w, c in zip(weights, normalised, strict=True)
    )
    max_concurrency = min(first.kv_blocks / blocks_per_sequence, float(MAX_BATCH))
    mean_context = sum(w * (c.input_tokens + c.output_tokens / 2.0) for w, c in zip(weights, normalised, strict=True))
    # The decode step depends on the classes only through the batch's mean context (input + output/2): a model
    # with that context and no output tokens steps exactly like the mixed batch. The mean is fractional.
    step_model = dataclasses.replace(cast(ReplicaModel, first.model), input_tokens=cast(int, mean_context),
                                     output_tokens=0)
    return MixReplica(True, None, normalised, estimates, max_concurrency, first.weights_gib, step_model)
