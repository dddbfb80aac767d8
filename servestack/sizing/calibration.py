"""Model error on the published measurements; `python -m servestack.sizing.calibration` prints the tables.

The output is the calibration and holdout section of docs/performance-model.md, so the page can be
regenerated whenever the model or the data change.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from servestack.catalog.types import Accelerator
from servestack.sizing.calibration_data import CALIBRATION, HOLDOUT, CalibrationPoint
from servestack.sizing.model import estimate
from servestack.workload.known_models import KNOWN_MODELS

__all__ = ["Row", "predict", "evaluate", "median_abs_error", "markdown_table", "main"]


@dataclass(frozen=True, slots=True)
class Row:
    point: CalibrationPoint
    predicted_output_tokens_per_s: float

    @property
    def error(self) -> float:
        """Signed relative error, (predicted - measured) / measured."""
        return self.predicted_output_tokens_per_s / self.point.measured_output_tokens_per_s - 1.0


def predict(point: CalibrationPoint, accelerators: Mapping[str, Accelerator]) -> float:
    """The model's output tokens/s for the whole published system of `point`."""
    est = estimate(KNOWN_MODELS[point.model], point.precision, accelerators[point.accelerator], point.accelerators,
                   1, point.input_tokens, point.output_tokens)
    if not est.fits:
        return 0.0
    if point.batch is None:
        return est.output_tokens_per_s * point.replicas
    op = est.point(point.batch)
    return 0.0 if op is None else op.output_tokens_per_s * point.replicas


def evaluate(points: Iterable[CalibrationPoint], accelerators: Mapping[str, Accelerator]) -> list[Row]:
    return [Row(p, predict(p, accelerators)) for p in points]


def median_abs_error(rows: Sequence[Row]) -> float:
    return statistics.median(abs(r.error) for r in rows)


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [
        "| model | precision | accelerator | system | in/out | batch | measured tok/s | model tok/s | error "
        "| source | date |",
        "|---|---|---|---|---|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        p = r.point
        system = f"{p.replicas} x TP{p.accelerators}" if p.replicas > 1 else f"TP{p.accelerators}"
        lines.append(
            f"| {p.model} | {p.precision} | {p.accelerator} | {system} | {p.input_tokens}/{p.output_tokens} | "
            f"{p.batch if p.batch is not None else 'max'} | {p.measured_output_tokens_per_s:,.0f} | "
            f"{r.predicted_output_tokens_per_s:,.0f} | {r.error:+.0%} | {p.source} | {p.date} |"
        )
    lines.append("")
    lines.append(f"Median absolute error: {median_abs_error(rows):.1%} over {len(rows)} points.")
    return "\n".join(lines)


def report(accelerators: Mapping[str, Accelerator]) -> str:
    return "\n".join([
        "### Calibration set (chose the constants)",
        "",
        markdown_table(evaluate(CALIBRATION, accelerators)),
        "",
        "### Holdout set (never used to choose them)",
        "",
        markdown_table(evaluate(HOLDOUT, accelerators)),
        "",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    from servestack.catalog import load_catalog

    accelerators: Mapping[str, Accelerator] = load_catalog().accelerators
    sys.stdout.write(report(accelerators))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
