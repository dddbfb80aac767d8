"""From a run's requests to the verdict: percentiles, throughput, the SLO and the plan's estimate."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from servestack.verify.load import LoadRun

__all__ = ["MAX_ERROR_RATE", "Predicted", "SloTargets", "Report", "percentile", "summarize"]

MAX_ERROR_RATE = 0.01
"""More than 1 % failed requests fails the run whatever the latencies."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _dist_ms(values_s: Sequence[float]) -> dict[str, float | None]:
    if not values_s:
        return {"p50": None, "p95": None, "p99": None}
    ms = [v * 1000.0 for v in values_s]
    return {f"p{q}": round(percentile(ms, q), 3) for q in (50, 95, 99)}


@dataclass(frozen=True, slots=True)
class SloTargets:
    """The spec's p95 objectives, ms; None where the spec sets none."""

    ttft_ms_p95: float | None = None
    tpot_ms_p95: float | None = None
    latency_ms_p95: float | None = None


@dataclass(frozen=True, slots=True)
class Predicted:
    """The plan's estimate for the stack under test, ms, and where it came from."""

    source: str
    ttft_ms: float | None
    tpot_ms: float | None
    output_tokens_per_s_per_replica: float | None = None
    weights_gib: float | None = None
    """The model's weights in accelerator memory, GiB (what --write-measured records as memory_gib)."""


@dataclass(frozen=True, slots=True)
class Report:
    """Everything `verify` prints; `to_json` is the --json contract."""

    doc: dict[str, Any]

    @property
    def slo_met(self) -> bool:
        return bool(self.doc["slo_met"])

    def to_json(self) -> dict[str, Any]:
        return self.doc


def _ratio(measured: float | None, predicted: float | None) -> float | None:
    if measured is None or predicted is None or predicted <= 0:
        return None
    return round(measured / predicted, 3)


def summarize(run: LoadRun, slo: SloTargets, predicted: Predicted | None, predicted_note: str | None = None) -> Report:
    """The run against the SLO and the estimate.

    The SLO holds when every objective the spec sets is met at p95 by the measured (non-warm-up) requests,
    at least one request succeeded, and at most 1 % of them failed. Measured/predicted ratios compare p95
    with the estimate, because the plan checks its estimate against the p95 objectives.
    """
    measured = [r for r in run.results if not r.warmup]
    ok = [r for r in measured if r.ok]
    errors = len(measured) - len(ok)
    ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
    tpot = [t for t in (r.tpot_s for r in ok) if t is not None]
    e2e = [r.e2e_s for r in ok if r.e2e_s is not None]
    tokens = sum(r.output_tokens for r in ok)
    dists = {"ttft_ms": _dist_ms(ttft), "tpot_ms": _dist_ms(tpot), "latency_ms": _dist_ms(e2e)}
    error_rate = errors / len(measured) if measured else 1.0

    slo_doc: dict[str, Any] = {}
    for key, dist in (("ttft_ms_p95", "ttft_ms"), ("tpot_ms_p95", "tpot_ms"), ("latency_ms_p95", "latency_ms")):
        target = getattr(slo, key)
        if target is None:
            continue
        value = dists[dist]["p95"]
        slo_doc[key] = {"target": target, "measured": value, "met": value is not None and value <= target}
    errors_ok = bool(ok) and error_rate <= MAX_ERROR_RATE
    slo_met = errors_ok and all(v["met"] for v in slo_doc.values())

    pred: dict[str, Any] = {}
    if predicted is not None:
        pred = {
            "source": predicted.source,
            "ttft_ms": predicted.ttft_ms,
            "tpot_ms": predicted.tpot_ms,
            "ttft_ratio": _ratio(dists["ttft_ms"]["p95"], predicted.ttft_ms),
            "tpot_ratio": _ratio(dists["tpot_ms"]["p95"], predicted.tpot_ms),
        }
    elif predicted_note is not None:
        pred = {"source": None, "note": predicted_note}

    # Throughput counts what completed inside the measured window, whichever request it was: in steady state
    # that is the service's rate, while dividing the measured requests by the time until the last of them
    # finished would charge one request latency of tail to every run.
    c = run.config
    window_end = c.warmup_s + c.duration_s
    in_window = [r for r in run.results
                 if r.ok and r.e2e_s is not None and c.warmup_s <= r.due_s + r.e2e_s < window_end]
    window_tokens = sum(r.output_tokens for r in in_window)
    kinds = Counter(r.error for r in measured if r.error is not None)
    first_detail = next((r.detail for r in measured if r.detail), None)
    doc: dict[str, Any] = {
        "requests": len(measured),
        "errors": errors,
        "ttft_ms": dists["ttft_ms"],
        "tpot_ms": dists["tpot_ms"],
        "latency_ms": dists["latency_ms"],
        "output_tokens_per_s": round(window_tokens / c.duration_s, 3),
        "slo": slo_doc,
        "predicted": pred,
        "slo_met": slo_met,
        # Fields beyond the contract, for people reading a failed run.
        "requests_per_s": round(len(in_window) / c.duration_s, 3),
        "offered_requests_per_s": c.rate,
        "error_rate": round(error_rate, 4),
        "error_kinds": dict(sorted(kinds.items())),
        "first_error": first_detail,
        "warmup_requests": len(run.results) - len(measured),
        "mean_output_tokens": round(tokens / len(ok), 2) if ok else None,
        "duration_s": c.duration_s,
        "warmup_s": c.warmup_s,
        "warmup_shorter_than_latency": bool(e2e) and c.warmup_s < percentile(e2e, 50),
        "hit_deadline": run.hit_deadline,
        "ignore_eos": c.ignore_eos and not run.ignore_eos_refused,
        "endpoint": c.url,
        "model": c.model,
    }
    return Report(doc)
