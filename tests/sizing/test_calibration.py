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


@pytest.mark.parametrize(("link", "tp", "median_bound", "signed_bound", "min_points"), [
    ("nvlink", 1, 0.15, 0.10, 3),
    ("nvlink", 2, 0.15, 0.10, 3),
    # TensorRT-LLM's fp16 Llama-2-70B on 4 x A100 is under-predicted by ~20% on its compute-bound rows (prompt-
    # heavy and batch-1024 decode) and one 0.6.1 long-output row is +78%; the median is within 25% and unsigned.
    ("nvlink", 4, 0.25, 0.10, 3),
    ("nvlink", 8, 0.15, 0.10, 3),
    ("pcie", 1, 0.15, 0.10, 3),
    # L40S has no NVLink: TensorRT-LLM 0.9.0's TP2 (2 points) and TP4 (6 points) rows, NCCL ring over PCIe.
    ("pcie", 2, 0.15, 0.10, 2),
    ("pcie", 4, 0.25, 0.10, 3),
])
def test_error_per_tensor_parallel_degree(accelerators: dict[str, Accelerator], link: str, tp: int,
                                          median_bound: float, signed_bound: float, min_points: int) -> None:
    # Published points at each TP degree (all engines, each with its own constants): the median error must stay
    # within the bound, and the model must not over-predict on the median (over-prediction under-provisions).
    # TP4 was +42-48% and TP8 +16% before the per-layer all-reduce and vLLM's per-sequence host cost.
    rows = _gpu_rows(accelerators, link, tp)
    assert len(rows) >= min_points
    table = markdown_table(rows)
    assert median_abs_error(rows) <= median_bound, table
    assert median_signed_error(rows) <= signed_bound, table


def _rows_on(accelerators: dict[str, Accelerator], accelerator: str, tp: int) -> list[Row]:
    return evaluate([p for p in (*CALIBRATION, *HOLDOUT)
                     if p.accelerator == accelerator and p.accelerators == tp and p.measured_output_tokens_per_s],
                    accelerators)


def test_a100_tp2_is_not_under_predicted(accelerators: dict[str, Accelerator]) -> None:
    # Published 2 x A100 (NVLink) runs: dense GPT-J / Llama-2-7B (TensorRT-LLM 0.6.1) and fp16 Mixtral (0.9.0).
    # Mixtral was -56% and -58% while its 16-bit expert GEMMs paid the fp8 MoE share; every point must now be
    # within 20%, and none over-predicted by more than 10%.
    rows = _rows_on(accelerators, "A100-80GB", 2)
    table = markdown_table(rows)
    assert len(rows) >= 6, table
    assert {r.point.model for r in rows} >= {"gpt-j-6b", "llama-2-7b", "mixtral-8x7b"}, table
    assert worst_abs_error(rows) <= 0.20, table
    assert max(r.error for r in rows) <= 0.10, table


@pytest.mark.parametrize("tp", [2, 4])
def test_pcie_multi_gpu_is_not_over_predicted(accelerators: dict[str, Accelerator], tp: int) -> None:
    # L40S at TP2 and TP4 (TensorRT-LLM 0.9.0, fp8): over-prediction would under-provision a PCIe stack, so no
    # dense point may be over-predicted by more than 10%, and no point at all by more than 15%.
    rows = _rows_on(accelerators, "L40S", tp)
    table = markdown_table(rows)
    assert rows, table
    assert max(r.error for r in rows) <= 0.15, table
    dense = [r for r in rows if not KNOWN_MODELS[r.point.model].is_moe]
    assert dense and max(r.error for r in dense) <= 0.10, table


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
