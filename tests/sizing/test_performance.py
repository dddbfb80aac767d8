"""Physics of the time model: each property changes one input and checks the direction and size."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.catalog.types import Accelerator
from servestack.sizing import compute_path, estimate
from servestack.workload import KNOWN_MODELS

_8B = KNOWN_MODELS["llama-3.1-8b"]
_70B = KNOWN_MODELS["llama-3.1-70b"]


def test_more_bandwidth_faster_decode(accelerators: dict[str, Accelerator]) -> None:
    h100 = accelerators["H100"]
    faster = dataclasses.replace(h100, memory_bandwidth_gbps=h100.memory_bandwidth_gbps * 1.5)
    slow = estimate(_8B, "bf16", h100, 1, 1, 1000, 200)
    fast = estimate(_8B, "bf16", faster, 1, 1, 1000, 200)
    assert fast.tpot_at_batch_1_ms() < slow.tpot_at_batch_1_ms() * 0.85


def test_batch_one_decode_is_bandwidth_bound(accelerators: dict[str, Accelerator]) -> None:
    # 16 GB of bf16 weights over 3.35 TB/s is ~4.8 ms at peak; the model must be slower than peak.
    tpot = estimate(_8B, "bf16", accelerators["H100"], 1, 1, 100, 100).tpot_at_batch_1_ms()
    peak_ms = 8.03e9 * 2 / 3350e9 * 1e3
    assert peak_ms < tpot < 3 * peak_ms


def test_prefill_is_compute_bound(accelerators: dict[str, Accelerator]) -> None:
    short = estimate(_8B, "bf16", accelerators["H100"], 1, 1, 2000, 10).ttft_at_batch_1_ms()
    long = estimate(_8B, "bf16", accelerators["H100"], 1, 1, 16000, 10).ttft_at_batch_1_ms()
    assert long > 7 * short  # at least linear in prompt length (plus the quadratic attention term)


def test_moe_reads_active_parameters(accelerators: dict[str, Accelerator]) -> None:
    mixtral = KNOWN_MODELS["mixtral-8x7b"]
    as_dense = dataclasses.replace(mixtral, experts=1, active_experts=1, active_params_b=None)
    moe = estimate(mixtral, "fp8", accelerators["H100"], 1, 1, 200, 200).tpot_at_batch_1_ms()
    dense = estimate(as_dense, "fp8", accelerators["H100"], 1, 1, 200, 200).tpot_at_batch_1_ms()
    assert moe < dense * 0.5  # batch 1 touches 2 of 8 experts: ~13-14B of 46.7B parameters


def test_moe_touches_more_experts_at_large_batch(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["mixtral-8x7b"], "fp8", accelerators["H100"], 1, 1, 200, 200)
    assert est.model is not None
    one, many = est.model.weight_bytes_read(1), est.model.weight_bytes_read(64)
    assert many > 2.5 * one
    assert many == pytest.approx(46.7e9, rel=0.01)  # 64 tokens touch essentially every expert


def test_pcie_tensor_parallel_penalty(accelerators: dict[str, Accelerator]) -> None:
    h100 = accelerators["H100"]
    over_pcie = dataclasses.replace(h100, interconnect="pcie", interconnect_gbps=128)
    nvlink = estimate(_70B, "fp8", h100, 4, 1, 1000, 500)
    pcie = estimate(_70B, "fp8", over_pcie, 4, 1, 1000, 500)
    assert pcie.tpot_at_batch_1_ms() > nvlink.tpot_at_batch_1_ms() * 1.1
    assert pcie.output_tokens_per_s < nvlink.output_tokens_per_s


@pytest.mark.parametrize(("part", "precision", "share"), [
    ("A100-80GB", "fp16", 1.0),   # 16-bit expert GEMMs keep the dense efficiency
    ("A100-80GB", "fp8", 0.40),   # weight-only fp8 on Ampere: dequantising grouped GEMMs, no published point
    ("H100", "bf16", 1.0),
    ("H100", "fp8", 0.40),        # native fp8 grouped GEMMs lag dense fp8 GEMMs
    ("L40S", "fp8", 0.40),
])
def test_moe_compute_share_follows_the_math_path(accelerators: dict[str, Accelerator], part: str, precision: str,
                                                  share: float) -> None:
    # A MoE replica's achieved FLOP/s against a dense replica's on the same part and precision.
    acc = accelerators[part]
    moe = estimate(KNOWN_MODELS["mixtral-8x7b"], precision, acc, 4, 1, 1000, 300)
    dense = estimate(_70B, precision, acc, 4, 1, 1000, 300)
    assert moe.model is not None and dense.model is not None
    assert moe.model.flops / dense.model.flops == pytest.approx(share)


def test_emulated_fp8_is_slower_than_native(accelerators: dict[str, Accelerator]) -> None:
    h100 = accelerators["H100"]
    no_fp8 = dataclasses.replace(h100, fp8_tflops=None)
    assert compute_path(no_fp8, "fp8") == (989, True)
    native = estimate(_8B, "fp8", h100, 1, 1, 2000, 200)
    emulated = estimate(_8B, "fp8", no_fp8, 1, 1, 2000, 200)
    assert emulated.emulated_precision and not native.emulated_precision
    assert emulated.output_tokens_per_s < native.output_tokens_per_s * 0.6
    assert emulated.tpot_at_batch_1_ms() > native.tpot_at_batch_1_ms()


def test_precision_rules(accelerators: dict[str, Accelerator]) -> None:
    assert compute_path(accelerators["T4"], "bf16") == (65, False)  # no bf16: the fp16 path, same cost
    assert compute_path(accelerators["A100-80GB"], "fp8") == (312, True)
    assert compute_path(accelerators["L4"], "fp8") == (242, False)
    assert compute_path(accelerators["H100"], "int4") == (989, True)  # weight-only everywhere


def test_pipeline_adds_latency(accelerators: dict[str, Accelerator]) -> None:
    arch = KNOWN_MODELS["llama-3.1-405b"]
    one_node = estimate(arch, "fp8", accelerators["H200"], 8, 1, 1000, 200)
    two_nodes = estimate(arch, "fp8", accelerators["H200"], 8, 2, 1000, 200, multi_node_network=True)
    assert one_node.model is not None and two_nodes.model is not None
    # A lone sequence walks through both stages one after the other and pays the inter-node hop.
    assert two_nodes.model.decode_step_s(1) > one_node.model.decode_step_s(1)
    # Twice the devices, but stage hand-offs and weight re-reads per microbatch keep it under 2x.
    assert one_node.output_tokens_per_s < two_nodes.output_tokens_per_s < 2 * one_node.output_tokens_per_s


def test_operating_point_meets_slo_and_is_the_best(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(_70B, "fp8", accelerators["H100"], 2, 1, 1500, 300)
    op = est.operating_point(60.0, 2000.0)
    assert op is not None
    assert op.tpot_ms <= 60.0 and op.ttft_ms <= 2000.0
    above = est.point(op.batch + 1)
    assert above is not None and (above.tpot_ms > 60.0 or above.ttft_ms > 2000.0)
    assert op.output_tokens_per_s < est.output_tokens_per_s  # the SLO costs throughput here
    assert op.requests_per_s == pytest.approx(op.output_tokens_per_s / 300)


def test_operating_point_none_when_batch_one_misses(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(_70B, "fp8", accelerators["H100"], 2, 1, 1500, 300)
    assert est.operating_point(1.0, None) is None
    assert est.operating_point(None, 1.0) is None
    unlimited = est.operating_point(None, None)
    assert unlimited is not None and unlimited.batch == est.max_concurrent_sequences


def test_throughput_and_latency_grow_with_batch(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(_8B, "bf16", accelerators["L40S"], 1, 1, 1000, 300)
    points = [est.point(b) for b in (1, 4, 16, 64)]
    assert all(p is not None for p in points)
    tps = [p.output_tokens_per_s for p in points if p]
    tpot = [p.tpot_ms for p in points if p]
    assert tps == sorted(tps) and tpot == sorted(tpot)


def test_inferentia_and_mi300x_are_sized(accelerators: dict[str, Accelerator]) -> None:
    inf2 = estimate(_8B, "bf16", accelerators["Inferentia2"], 2, 1, 1000, 200)
    mi = estimate(_70B, "fp8", accelerators["MI300X"], 1, 1, 1000, 200)
    assert inf2.fits and inf2.output_tokens_per_s > 0
    assert mi.fits and mi.output_tokens_per_s > 0


_PCIE = ("T4", "A10G", "L4", "L40S", "H100-PCIe")


def _per_gpu_tps(accelerator: Accelerator, model: str, precision: str, tp: int, batch: int) -> float | None:
    est = estimate(KNOWN_MODELS[model], precision, accelerator, tp, 1, 1000, 300, context_tokens=1300)
    if not est.fits or est.model is None:
        return None
    return est.model.point(batch).output_tokens_per_s / tp


@settings(max_examples=60, deadline=None)
@given(
    part=st.sampled_from(_PCIE),
    model=st.sampled_from(["llama-3.1-8b", "mistral-7b", "llama-2-13b", "llama-3.1-70b"]),
    precision=st.sampled_from(["fp16", "fp8", "int4"]),
    batch=st.integers(min_value=1, max_value=512),
)
def test_per_gpu_throughput_never_rises_with_tp_on_pcie(accelerators: dict[str, Accelerator], part: str,
                                                          model: str, precision: str, batch: int) -> None:
    # At a fixed batch, more PCIe GPUs split the weights but add all-reduces over a slow link: each GPU may
    # not serve more tokens than it did with fewer GPUs.
    acc = accelerators[part]
    series = [(tp, _per_gpu_tps(acc, model, precision, tp, batch)) for tp in (1, 2, 4, 8)]
    fitting = [(tp, v) for tp, v in series if v is not None]
    for (tp_a, a), (tp_b, b) in zip(fitting, fitting[1:], strict=False):
        assert b <= a * (1 + 1e-9), (part, model, precision, batch, tp_a, a, tp_b, b)


@pytest.mark.parametrize("part", ["L4", "L40S", "A10G", "H100-PCIe"])
@pytest.mark.parametrize("tp", [4, 8])
def test_tp_efficiency_drops_far_more_over_pcie_than_nvlink(accelerators: dict[str, Accelerator], part: str,
                                                            tp: int) -> None:
    # The same part with an NVLink fabric keeps more of its single-GPU throughput per GPU than over PCIe.
    pcie = accelerators[part]
    nvlink = dataclasses.replace(pcie, interconnect="nvlink", interconnect_gbps=600)

    def efficiency(acc: Accelerator) -> float:
        one, many = _per_gpu_tps(acc, "llama-3.1-8b", "int4", 1, 64), _per_gpu_tps(acc, "llama-3.1-8b", "int4", tp, 64)
        assert one is not None and many is not None
        return many / one

    pcie_eff, nvlink_eff = efficiency(pcie), efficiency(nvlink)
    assert pcie_eff < nvlink_eff - 0.10, (pcie_eff, nvlink_eff)
    assert pcie_eff < 0.8 * nvlink_eff, (pcie_eff, nvlink_eff)


def test_pcie_allreduce_latency_grows_with_tp(accelerators: dict[str, Accelerator]) -> None:
    # NCCL's ring over PCIe takes 2 x (TP - 1) dependent PCIe round trips; an NVLink one-shot kernel grows far less.
    def one_allreduce_us(acc: Accelerator, tp: int) -> float:
        est = estimate(_8B, "int4", acc, tp, 1, 1000, 300)
        assert est.model is not None
        return est.model.allreduce_one_s(1.0) * 1e6

    l40s, h100 = accelerators["L40S"], accelerators["H100"]
    pcie_growth = one_allreduce_us(l40s, 8) / one_allreduce_us(l40s, 2)
    nvlink_growth = one_allreduce_us(h100, 8) / one_allreduce_us(h100, 2)
    assert pcie_growth > 4 and pcie_growth > 2 * nvlink_growth, (pcie_growth, nvlink_growth)
    assert one_allreduce_us(l40s, 2) > one_allreduce_us(h100, 2)


def test_sizing_defaults_to_the_deployed_engine(accelerators: dict[str, Accelerator]) -> None:
    h100 = accelerators["H100"]
    default = estimate(_70B, "fp8", h100, 2, 1, 1000, 300)
    vllm = estimate(_70B, "fp8", h100, 2, 1, 1000, 300, engine="vllm")
    trtllm = estimate(_70B, "fp8", h100, 2, 1, 1000, 300, engine="trtllm")
    assert default == vllm
    # Public comparisons put TensorRT-LLM 10-30% ahead of vLLM for 70B fp8 on H100 at saturation.
    assert 1.10 < trtllm.output_tokens_per_s / vllm.output_tokens_per_s < 1.6


def test_unknown_engine_is_a_spec_error(accelerators: dict[str, Accelerator]) -> None:
    from servestack.errors import SpecError

    with pytest.raises(SpecError, match="engine"):
        estimate(_8B, "bf16", accelerators["H100"], 1, 1, 100, 100, engine="onnx")


def test_interconnect_facts_are_sourced_and_plausible(accelerators: dict[str, Accelerator]) -> None:
    # The all-reduce model reads interconnect and interconnect_gbps; each part must say where they come from,
    # and a part without NVLink must be a PCIe x16 link of Gen3/4/5 (32/64/128 GB/s bidirectional).
    for acc in accelerators.values():
        assert "interconnect:" in acc.source or "NeuronLink" in acc.source, acc.id
        if acc.interconnect == "pcie":
            assert acc.interconnect_gbps in (32, 64, 128), acc.id
        else:
            assert acc.interconnect_gbps >= 192, acc.id
