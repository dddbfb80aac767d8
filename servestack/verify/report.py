"""From a run's requests to the verdict: percentiles, throughput, the SLO and the plan's estimate."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from servestack.verify.load import LoadRun, RequestResult

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
    classes: tuple[tuple[str, float, float], ...] = ()
    """(class, ttft_ms, tpot_ms) per request class of a mix, from the pool the plan serves it on."""


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
    A mix run (config.classes) also reports the same blocks per class under `classes`, and meets the SLO only
    when every class with measured requests meets it too: the plan sized every class to the SLO.
    """
    measured = [r for r in run.results if not r.warmup]
    ok = [r for r in measured if r.ok]
    errors = len(measured) - len(ok)
    e2e = [r.e2e_s for r in ok if r.e2e_s is not None]
    tokens = sum(r.output_tokens for r in ok)
    overall = _blocks(run, measured, run.results, slo)
    dists = {k: overall[k] for k in ("ttft_ms", "tpot_ms", "latency_ms")}
    error_rate = overall["error_rate"]
    slo_doc = overall["slo"]
    classes = _class_blocks(run, slo, predicted)
    # The plan holds the SLO for every class (docs/traffic-mixes.md), so a run meets it only if each class does.
    slo_met = overall["slo_met"] and all(b["slo_met"] is not False for b in classes.values())

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

    c = run.config
    kinds = Counter(r.error for r in measured if r.error is not None)
    first_detail = next((r.detail for r in measured if r.detail), None)
    doc: dict[str, Any] = {
        "requests": len(measured),
        "errors": errors,
        "ttft_ms": dists["ttft_ms"],
        "tpot_ms": dists["tpot_ms"],
        "latency_ms": dists["latency_ms"],
        "output_tokens_per_s": overall["output_tokens_per_s"],
        "slo": slo_doc,
        "predicted": pred,
        "slo_met": slo_met,
        # Fields beyond the contract, for people reading a failed run.
        "requests_per_s": overall["requests_per_s"],
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
    if classes:
        doc["classes"] = classes
    return Report(doc)


def _blocks(
    run: LoadRun, measured: Sequence[RequestResult], completed: Sequence[RequestResult], slo: SloTargets
) -> dict[str, Any]:
    """Counts, latency percentiles, throughput and the SLO verdict of some of a run's requests.

    `measured` are the non-warm-up requests judged; `completed` the requests whose completions count toward
    throughput (any that finished inside the measured window, warm-up arrivals included).
    """
    ok = [r for r in measured if r.ok]
    ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
    tpot = [t for t in (r.tpot_s for r in ok) if t is not None]
    e2e = [r.e2e_s for r in ok if r.e2e_s is not None]
    dists = {"ttft_ms": _dist_ms(ttft), "tpot_ms": _dist_ms(tpot), "latency_ms": _dist_ms(e2e)}
    errors = len(measured) - len(ok)
    error_rate = errors / len(measured) if measured else 1.0
    slo_doc: dict[str, Any] = {}
    for key, dist in (("ttft_ms_p95", "ttft_ms"), ("tpot_ms_p95", "tpot_ms"), ("latency_ms_p95", "latency_ms")):
        target = getattr(slo, key)
        if target is None:
            continue
        value = dists[dist]["p95"]
        slo_doc[key] = {"target": target, "measured": value, "met": value is not None and value <= target}
    errors_ok = bool(ok) and error_rate <= MAX_ERROR_RATE
    # Throughput counts what completed inside the measured window, whichever request it was: in steady state
    # that is the service's rate, while dividing the measured requests by the time until the last of them
    # finished would charge one request latency of tail to every run.
    c = run.config
    window_end = c.warmup_s + c.duration_s
    in_window = [r for r in completed
                 if r.ok and r.e2e_s is not None and c.warmup_s <= r.due_s + r.e2e_s < window_end]
    return {
        "requests": len(measured),
        "errors": errors,
        **dists,
        "output_tokens_per_s": round(sum(r.output_tokens for r in in_window) / c.duration_s, 3),
        "requests_per_s": round(len(in_window) / c.duration_s, 3),
        "error_rate": round(error_rate, 4),
        "slo": slo_doc,
        "slo_met": errors_ok and all(v["met"] for v in slo_doc.values()),
    }


def _class_blocks(run: LoadRun, slo: SloTargets, predicted: Predicted | None) -> dict[str, dict[str, Any]]:
    """The same blocks per class of a mix run (empty without a mix), in the config's class order.

    A class that drew no measured request (a rare class in a short run) is reported with `slo_met: null`:
    nothing was measured, so nothing is judged; its share in `classes[...].share` says why.
    """
    out: dict[str, dict[str, Any]] = {}
    for load_class in run.config.classes:
        mine = [r for r in run.results if r.request_class == load_class.name]
        measured = [r for r in mine if not r.warmup]
        block = _blocks(run, measured, mine, slo)
        if not measured:
            block["slo_met"] = None
            block["error_rate"] = None
        estimate = {name: (ttft, tpot) for name, ttft, tpot in (predicted.classes if predicted else ())}
        if load_class.name in estimate:
            ttft, tpot = estimate[load_class.name]
            block["predicted"] = {"ttft_ms": ttft, "tpot_ms": tpot,
                                  "ttft_ratio": _ratio(block["ttft_ms"]["p95"], ttft),
                                  "tpot_ratio": _ratio(block["tpot_ms"]["p95"], tpot)}
        out[load_class.name] = {
            "share": load_class.share,
            "input_tokens": load_class.input_words,
            "output_tokens": load_class.max_tokens,
            **block,
        }
    return out
