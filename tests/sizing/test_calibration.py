"""Accuracy against published measurements the constants were not chosen on, and accelerator ordering."""

from __future__ import annotations

import pytest

from servestack.catalog.types import Accelerator
from servestack.sizing import estimate
from servestack.sizing.calibration import (
    Row,
    evaluate,
    markdown_table,
    median_abs_error,
    median_signed_error,
    worst_abs_error,
)
from servestack.sizing.calibration_data import CALIBRATION, ENGINES, HOLDOUT, CalibrationPoint
from servestack.workload import KNOWN_MODELS


def test_holdout_is_disjoint_from_calibration() -> None:
    assert not set(CALIBRATION) & set(HOLDOUT)
    assert len(HOLDOUT) >= 20


def test_every_point_has_source_date_and_engine() -> None:
    for p in (*CALIBRATION, *HOLDOUT):
        assert p.source and p.date and p.model in KNOWN_MODELS
        assert p.engine in ENGINES, p
        assert p.measured_output_tokens_per_s or p.measured_ttft_ms or p.measured_tpot_ms, p


def _vllm_nvidia(points: tuple[CalibrationPoint, ...], accelerators: dict[str, Accelerator]) -> list[CalibrationPoint]:
    return [p for p in points if p.engine == "vllm" and accelerators[p.accelerator].vendor.lower() == "nvidia"]


def test_vllm_holdout_shares_no_source_with_its_calibration(accelerators: dict[str, Accelerator]) -> None:
    calibration = _vllm_nvidia(CALIBRATION, accelerators)
    holdout = _vllm_nvidia(HOLDOUT, accelerators)
    assert len(calibration) >= 4 and len(holdout) >= 3
    assert not {p.source for p in calibration} & {p.source for p in holdout}


def test_vllm_calibration_error(accelerators: dict[str, Accelerator]) -> None:
    # The deployed engine's constants were chosen on these points: throughput and latencies must be close.
    rows = evaluate(_vllm_nvidia(CALIBRATION, accelerators), accelerators)
    table = markdown_table(rows)
    assert worst_abs_error(rows, "throughput") < 0.15, table
    assert median_abs_error(rows, "tpot") < 0.15 and worst_abs_error(rows, "tpot") < 0.25, table
    assert median_abs_error(rows, "ttft") < 0.25, table


def test_vllm_holdout_error(accelerators: dict[str, Accelerator]) -> None:
    rows = evaluate(_vllm_nvidia(HOLDOUT, accelerators), accelerators)
    table = markdown_table(rows)
    assert median_abs_error(rows, "throughput") < 0.20 and worst_abs_error(rows, "throughput") < 0.40, table
    assert median_abs_error(rows, "tpot") < 0.15, table


def _gpu_rows(accelerators: dict[str, Accelerator], link: str, tp: int) -> list[Row]:
    points = [p for p in (*CALIBRATION, *HOLDOUT)
              if p.accelerators == tp and accelerators[p.accelerator].interconnect == link
              and accelerators[p.accelerator].vendor.lower() == "nvidia"]
    return evaluate(points, accelerators)


@pytest.mark.parametrize(("link", "tp", "median_bound", "signed_bound"), [
    ("nvlink", 1, 0.15, 0.10),
    ("nvlink", 2, 0.15, 0.10),
    ("nvlink", 4, 0.15, 0.10),
    ("nvlink", 8, 0.15, 0.10),
    ("pcie", 1, 0.15, 0.10),
])
def test_error_per_tensor_parallel_degree(accelerators: dict[str, Accelerator], link: str, tp: int,
                                          median_bound: float, signed_bound: float) -> None:
    # Published points at each TP degree (all engines, each with its own constants): the median error must stay
    # within the bound, and the model must not over-predict on the median (over-prediction under-provisions).
    # TP4 was +42-48% and TP8 +16% before the per-layer all-reduce and vLLM's per-sequence host cost.
    rows = _gpu_rows(accelerators, link, tp)
    assert len(rows) >= 3
    table = markdown_table(rows)
    assert median_abs_error(rows) <= median_bound, table
    assert median_signed_error(rows) <= signed_bound, table


def test_holdout_median_error_under_25_percent(accelerators: dict[str, Accelerator]) -> None:
    rows = evaluate(HOLDOUT, accelerators)
    assert all(r.predicted_output_tokens_per_s > 0 for r in rows), "every holdout system must fit"
    assert median_abs_error(rows) < 0.25, markdown_table(rows)


def test_calibration_median_error_under_15_percent(accelerators: dict[str, Accelerator]) -> None:
    assert median_abs_error(evaluate(CALIBRATION, accelerators)) < 0.15


def test_measured_ordering_is_reproduced(accelerators: dict[str, Accelerator]) -> None:
    # Pairs measured on the same model, lengths and replica layout: the model must rank them the same way.
    rows = evaluate(HOLDOUT, accelerators)
    by_key: dict[tuple[str, str, int, int, int, int | None], dict[str, tuple[float, float]]] = {}
    for r in rows:
        p = r.point
        if p.measured_output_tokens_per_s is None:
            continue
        key = (p.model, p.precision, p.input_tokens, p.output_tokens, p.accelerators * p.replicas, p.batch)
        by_key.setdefault(key, {})[p.accelerator] = (p.measured_output_tokens_per_s, r.predicted_output_tokens_per_s)
    compared = 0
    for accs in by_key.values():
        names = sorted(accs)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                (ma, pa), (mb, pb) = accs[a], accs[b]
                if abs(ma / mb - 1) < 0.10:
                    continue  # too close to call in the measurement itself
                assert (ma > mb) == (pa > pb), (a, b, accs)
                compared += 1
    assert compared >= 5


@pytest.mark.parametrize(("model", "precision", "count"), [
    ("llama-2-70b", "fp8", 4),
    ("llama-3.1-8b", "bf16", 1),
])
def test_published_accelerator_ordering(accelerators: dict[str, Accelerator], model: str, precision: str,
                                        count: int) -> None:
    # MLPerf / vendor results rank these parts B200 > H200 > H100 > A100-80GB > L40S > L4 for Llama-class models.
    order = ["B200", "H200", "H100", "A100-80GB", "L40S", "L4"]
    arch = KNOWN_MODELS[model]
    tps = []
    for acc in order:
        est = estimate(arch, precision, accelerators[acc], count, 1, 1000, 300)
        assert est.fits, (acc, est.reason)
        tps.append(est.output_tokens_per_s)
    assert tps == sorted(tps, reverse=True), dict(zip(order, tps, strict=True))


def test_every_calibrated_accelerator_is_fitted(accelerators: dict[str, Accelerator]) -> None:
    # A pooled median can hide one part the constants do not fit (Inferentia2 was +200% on its saturated
    # point before its constants were chosen on it): each accelerator's own calibration median must hold too.
    rows = evaluate(CALIBRATION, accelerators)
    for acc in sorted({r.point.accelerator for r in rows}):
        own = [r for r in rows if r.point.accelerator == acc]
        assert median_abs_error(own) < 0.20, (acc, markdown_table(own))
