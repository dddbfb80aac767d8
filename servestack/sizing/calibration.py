"""Model error on the published measurements; `python -m servestack.sizing.calibration` prints the tables.

The output is the calibration and holdout section of docs/performance-model.md, so the page can be
regenerated whenever the model or the data change. Every point is predicted with the constants of the engine
that produced it (`CalibrationPoint.engine`).
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from servestack.catalog.types import Accelerator
from servestack.sizing.calibration_data import CALIBRATION, HOLDOUT, CalibrationPoint
from servestack.sizing.model import OperatingPoint, estimate
from servestack.workload.known_models import KNOWN_MODELS

__all__ = [
    "Row", "METRICS", "predict", "predict_point", "evaluate", "median_abs_error", "median_signed_error",
    "worst_abs_error",
    "metric_errors", "markdown_table", "engine_error_table", "tp_error_table", "main",
]

METRICS: tuple[str, ...] = ("throughput", "ttft", "tpot")


@dataclass(frozen=True, slots=True)
class Row:
    point: CalibrationPoint
    predicted_output_tokens_per_s: float
    predicted_ttft_ms: float | None = None
    predicted_tpot_ms: float | None = None

    @property
    def error(self) -> float:
        """Signed relative throughput error, (predicted - measured) / measured (0 for latency-only points)."""
        e = self.metric_error("throughput")
        return 0.0 if e is None else e

    def metric_error(self, metric: str) -> float | None:
        """Signed relative error of `metric` (throughput, ttft, tpot); None when the point did not measure it."""
        measured, predicted = {
            "throughput": (self.point.measured_output_tokens_per_s, self.predicted_output_tokens_per_s),
            "ttft": (self.point.measured_ttft_ms, self.predicted_ttft_ms),
            "tpot": (self.point.measured_tpot_ms, self.predicted_tpot_ms),
        }[metric]
        if measured is None:
            return None
        if predicted is None:
            return -1.0
        return predicted / measured - 1.0


def predict_point(point: CalibrationPoint, accelerators: Mapping[str, Accelerator]) -> OperatingPoint | None:
    """The model's operating point of one replica of `point`, None when it does not fit."""
    est = estimate(KNOWN_MODELS[point.model], point.precision, accelerators[point.accelerator], point.accelerators,
                   1, point.input_tokens, point.output_tokens, engine=point.engine)
    if not est.fits:
        return None
    op = est.point(est.max_concurrent_sequences if point.batch is None else point.batch)
    if op is None or point.scheduler_steps == 1:
        return op
    # A request arriving during a multi-step window waits on average half of it before its prefill runs.
    wait_ms = point.scheduler_steps / 2.0 * op.tpot_ms
    return OperatingPoint(op.batch, op.output_tokens_per_s, op.requests_per_s, op.ttft_ms + wait_ms, op.tpot_ms)


def predict(point: CalibrationPoint, accelerators: Mapping[str, Accelerator]) -> float:
    """The model's output tokens/s for the whole published system of `point`."""
    op = predict_point(point, accelerators)
    return 0.0 if op is None else op.output_tokens_per_s * point.replicas


def evaluate(points: Iterable[CalibrationPoint], accelerators: Mapping[str, Accelerator]) -> list[Row]:
    rows = []
    for p in points:
        op = predict_point(p, accelerators)
        rows.append(Row(p, 0.0 if op is None else op.output_tokens_per_s * p.replicas,
                        None if op is None else op.ttft_ms, None if op is None else op.tpot_ms))
    return rows


def metric_errors(rows: Sequence[Row], metric: str = "throughput") -> list[float]:
    """Absolute relative errors of `metric` over the rows that measured it."""
    return [abs(e) for r in rows if (e := r.metric_error(metric)) is not None]


def median_signed_error(rows: Sequence[Row], metric: str = "throughput") -> float:
    """Median signed error: > 0 means the model over-predicts (an under-provisioned plan)."""
    return statistics.median(e for r in rows if (e := r.metric_error(metric)) is not None)


def median_abs_error(rows: Sequence[Row], metric: str = "throughput") -> float:
    return statistics.median(metric_errors(rows, metric))


def worst_abs_error(rows: Sequence[Row], metric: str = "throughput") -> float:
    return max(metric_errors(rows, metric))


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _err(value: float | None) -> str:
    if value is None:
        return "-"
    rounded = round(value, 2)
    return f"{rounded if rounded else 0.0:+.0%}"  # no "-0%" for a tiny negative error


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| engine | model | precision | accelerator | system | in/out | batch | measured tok/s | model tok/s | error "
        "| TTFT ms meas/model | TPOT ms meas/model | source | date |",
        "|---|---|---|---|---|---|---|---:|---:|---:|---|---|---|---|",
    ]
    for r in rows:
        p = r.point
        system = f"{p.replicas} x TP{p.accelerators}" if p.replicas > 1 else f"TP{p.accelerators}"
        ttft = "-" if p.measured_ttft_ms is None else (
            f"{p.measured_ttft_ms:,.0f} / {_fmt(r.predicted_ttft_ms, ',.0f')} ({_err(r.metric_error('ttft'))})")
        tpot = "-" if p.measured_tpot_ms is None else (
            f"{p.measured_tpot_ms:,.1f} / {_fmt(r.predicted_tpot_ms, ',.1f')} ({_err(r.metric_error('tpot'))})")
        measured = _fmt(p.measured_output_tokens_per_s, ",.0f")
        predicted = f"{r.predicted_output_tokens_per_s:,.0f}" if p.measured_output_tokens_per_s is not None else "-"
        lines.append(
            f"| {p.engine} | {p.model} | {p.precision} | {p.accelerator} | {system} | {p.input_tokens}/"
            f"{p.output_tokens} | {p.batch if p.batch is not None else 'max'} | {measured} | {predicted} | "
            f"{_err(r.metric_error('throughput'))} | {ttft} | {tpot} | {p.source} | {p.date} |"
        )
    lines.append("")
    lines.append(f"Median absolute throughput error: {median_abs_error(rows):.1%} over "
                 f"{len(metric_errors(rows))} points.")
    return "\n".join(lines)


def _summary(rows: Sequence[Row], metric: str) -> str:
    errors = metric_errors(rows, metric)
    if not errors:
        return "-"
    return f"{statistics.median(errors):.0%} / {max(errors):.0%} ({len(errors)})"


def _grouped_table(title: str, key: Callable[[Row], str], calibration: Sequence[Row],
                   holdout: Sequence[Row]) -> str:
    head = (f"| {title} | set | throughput median / worst (n) | throughput median signed | TTFT median / worst (n) "
            "| TPOT median / worst (n) |")
    lines = [head, "|---|---|---|---:|---|---|"]
    for group in sorted({key(r) for r in (*calibration, *holdout)}):
        for name, rows in (("calibration", calibration), ("holdout", holdout)):
            own = [r for r in rows if key(r) == group]
            if own:
                signed = _err(median_signed_error(own)) if metric_errors(own) else "-"
                cells = [_summary(own, "throughput"), signed, _summary(own, "ttft"), _summary(own, "tpot")]
                lines.append(f"| {group} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def engine_error_table(calibration: Sequence[Row], holdout: Sequence[Row],
                       accelerators: Mapping[str, Accelerator]) -> str:
    """Median and worst absolute % error per engine and vendor, calibration and holdout, for each metric."""
    return _grouped_table("engine on vendor",
                          lambda r: f"{r.point.engine} on {accelerators[r.point.accelerator].vendor.lower()}",
                          calibration, holdout)


def _tp_group(row: Row, accelerators: Mapping[str, Accelerator]) -> str:
    link = accelerators[row.point.accelerator].interconnect
    return f"TP{row.point.accelerators} {link}"


def tp_error_table(calibration: Sequence[Row], holdout: Sequence[Row],
                   accelerators: Mapping[str, Accelerator]) -> str:
    """Median and worst absolute % error per tensor-parallel degree and link (GPU points only)."""
    gpu = [r for r in (*calibration, *holdout) if accelerators[r.point.accelerator].vendor.lower() != "aws"]
    return _grouped_table("TP, link", lambda r: _tp_group(r, accelerators),
                          [r for r in gpu if r.point in set(CALIBRATION)],
                          [r for r in gpu if r.point not in set(CALIBRATION)])


def report(accelerators: Mapping[str, Accelerator]) -> str:
    calibration = evaluate(CALIBRATION, accelerators)
    holdout = evaluate(HOLDOUT, accelerators)
    return "\n".join([
        "### Error per engine (absolute % error, median / worst, number of points)",
        "",
        engine_error_table(calibration, holdout, accelerators),
        "",
        "### Error per tensor-parallel degree (GPU points, all engines)",
        "",
        tp_error_table(calibration, holdout, accelerators),
        "",
        "### Calibration set (chose the constants)",
        "",
        markdown_table(calibration),
        "",
        "### Holdout set (never used to choose them)",
        "",
        markdown_table(holdout),
        "",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    from servestack.catalog import load_catalog

    accelerators: Mapping[str, Accelerator] = load_catalog().accelerators
    sys.stdout.write(report(accelerators))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
