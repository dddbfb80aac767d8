"""Memory arithmetic on cases whose answer is known by hand."""

from __future__ import annotations

import dataclasses

import pytest

from servestack.catalog.types import Accelerator
from servestack.errors import SpecError
from servestack.sizing import estimate, kv_bytes_per_element, kv_cache_dtype, weight_bytes_per_param
from servestack.workload import KNOWN_MODELS


def test_llama2_70b_bf16_weights_are_128_5_gib(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["llama-2-70b"], "bf16", accelerators["H100"], 4, 1, 1000, 200)
    assert est.weights_gib == pytest.approx(69e9 * 2 / 2**30)
    assert est.weights_gib == pytest.approx(128.5, abs=0.05)


def test_llama31_70b_bf16_kv_bytes_per_token(accelerators: dict[str, Accelerator]) -> None:
    # 2 (K and V) x 80 layers x 8 KV heads x 128 head_dim x 2 bytes
    est = estimate(KNOWN_MODELS["llama-3.1-70b"], "bf16", accelerators["H100"], 4, 1, 1000, 200)
    assert est.kv_cache_bytes_per_token == 327_680


def test_fp8_halves_kv_and_weights(accelerators: dict[str, Accelerator]) -> None:
    arch = KNOWN_MODELS["llama-3.1-70b"]
    bf16 = estimate(arch, "bf16", accelerators["H100"], 4, 1, 1000, 200)
    fp8 = estimate(arch, "fp8", accelerators["H100"], 4, 1, 1000, 200)
    assert fp8.kv_cache_bytes_per_token * 2 == bf16.kv_cache_bytes_per_token
    assert fp8.weights_gib * 2 == pytest.approx(bf16.weights_gib)


@pytest.mark.parametrize(("precision", "weight", "kv"), [
    ("fp16", 2.0, 2), ("bf16", 2.0, 2), ("fp8", 1.0, 1), ("int8", 1.0, 2), ("int4", 0.5, 2),
])
def test_bytes_by_precision(precision: str, weight: float, kv: int, accelerators: dict[str, Accelerator]) -> None:
    assert weight_bytes_per_param(precision) == weight
    assert kv_bytes_per_element(precision, accelerators["H100"]) == kv


@pytest.mark.parametrize("part", ["A100-40GB", "A100-80GB", "A10G", "T4"])
def test_fp8_models_keep_16_bit_kv_on_parts_without_fp8(part: str, accelerators: dict[str, Accelerator]) -> None:
    # vLLM's fp8 KV cache crash-loops below SM 8.9; such parts are sized (and served) with 16-bit KV.
    acc = accelerators[part]
    assert kv_cache_dtype("fp8", acc) == "auto"
    assert kv_bytes_per_element("fp8", acc) == 2


@pytest.mark.parametrize("part", ["L4", "L40S", "H100", "H200", "B200"])
def test_fp8_models_use_an_fp8_kv_cache_where_the_part_has_fp8(part: str, accelerators: dict[str, Accelerator]) -> None:
    assert kv_cache_dtype("fp8", accelerators[part]) == "fp8"
    assert kv_cache_dtype("bf16", accelerators[part]) == "auto"


def test_fp8_kv_sizing_follows_the_part(accelerators: dict[str, Accelerator]) -> None:
    arch = KNOWN_MODELS["llama-3.1-8b"]
    on_a100 = estimate(arch, "fp8", accelerators["A100-80GB"], 1, 1, 1000, 200)
    on_h100 = estimate(arch, "fp8", accelerators["H100"], 1, 1, 1000, 200)
    assert on_a100.kv_cache_bytes_per_token == 2 * on_h100.kv_cache_bytes_per_token


def test_estimate_refuses_fp8_on_pre_ampere_like_the_selector(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["llama-3.1-8b"], "fp8", accelerators["T4"], 1, 1, 1000, 200)
    assert not est.fits
    assert est.reason_code == "precision_unsupported"


def test_70b_bf16_does_not_fit_one_h100_and_says_why(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["llama-2-70b"], "bf16", accelerators["H100"], 1, 1, 1000, 200)
    assert not est.fits
    assert est.reason is not None and "128.5 GiB" in est.reason and "available" in est.reason
    assert est.max_concurrent_sequences == 0 and est.output_tokens_per_s == 0.0


def test_int4_70b_fits_one_h100(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["llama-2-70b"], "int4", accelerators["H100"], 1, 1, 1000, 200)
    assert est.fits and est.max_concurrent_sequences > 0


def test_longer_context_fewer_sequences(accelerators: dict[str, Accelerator]) -> None:
    arch = KNOWN_MODELS["llama-3.1-8b"]
    short = estimate(arch, "bf16", accelerators["L4"], 1, 1, 500, 100)
    long = estimate(arch, "bf16", accelerators["L4"], 1, 1, 4000, 1000)
    assert 0 < long.max_concurrent_sequences < short.max_concurrent_sequences


def test_context_longer_than_kv_cache_does_not_fit(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["llama-3.1-8b"], "bf16", accelerators["L4"], 1, 1, 500, 100,
                   context_tokens=131072)
    assert not est.fits and est.reason is not None and "131072-token" in est.reason


def test_more_memory_more_sequences(accelerators: dict[str, Accelerator]) -> None:
    arch = KNOWN_MODELS["llama-3.1-70b"]
    h100 = estimate(arch, "fp8", accelerators["H100"], 2, 1, 2000, 500)
    h200 = estimate(arch, "fp8", accelerators["H200"], 2, 1, 2000, 500)
    assert h200.max_concurrent_sequences > h100.max_concurrent_sequences


def test_kv_heads_replicate_beyond_kv_head_count(accelerators: dict[str, Accelerator]) -> None:
    # 8 KV heads over TP8 vs TP16-equivalent memory: per-device KV cannot shrink below one head.
    arch = KNOWN_MODELS["llama-3.1-8b"]
    few_heads = dataclasses.replace(arch, kv_heads=2)
    tp8 = estimate(few_heads, "bf16", accelerators["L4"], 8, 1, 1000, 1000)
    tp2 = estimate(few_heads, "bf16", accelerators["L4"], 2, 1, 1000, 1000)
    # With TP8 each device still stores one full KV head, so capacity does not grow 4x over TP2.
    assert tp8.max_concurrent_sequences < 4 * tp2.max_concurrent_sequences


def test_moe_must_hold_all_experts(accelerators: dict[str, Accelerator]) -> None:
    est = estimate(KNOWN_MODELS["mixtral-8x7b"], "bf16", accelerators["L40S"], 1, 1, 500, 200)
    assert not est.fits  # 87 GiB of experts, although a token reads only 12.9B parameters
    assert estimate(KNOWN_MODELS["mixtral-8x7b"], "bf16", accelerators["L40S"], 4, 1, 500, 200).fits


def test_multi_node_needs_fabric(accelerators: dict[str, Accelerator]) -> None:
    arch = KNOWN_MODELS["llama-3.1-405b"]
    no_fabric = estimate(arch, "bf16", accelerators["H100"], 8, 2, 1000, 200)
    assert not no_fabric.fits and no_fabric.reason is not None and "EFA" in no_fabric.reason
    fabric = estimate(arch, "bf16", accelerators["H100"], 8, 2, 1000, 200, multi_node_network=True)
    assert fabric.fits and fabric.accelerators == 16


@pytest.mark.parametrize(("field", "kwargs"), [
    ("accelerators_per_node", {"accelerators_per_node": 0}),
    ("nodes", {"nodes": 0}),
    ("input_tokens", {"input_tokens": -1}),
    ("output_tokens", {"output_tokens": 0}),
])
def test_bad_arguments_name_the_field(accelerators: dict[str, Accelerator], field: str,
                                      kwargs: dict[str, int]) -> None:
    args: dict[str, int] = {"accelerators_per_node": 1, "nodes": 1, "input_tokens": 10, "output_tokens": 10}
    args.update(kwargs)
    with pytest.raises(SpecError) as info:
        estimate(KNOWN_MODELS["llama-3.1-8b"], "bf16", accelerators["H100"], args["accelerators_per_node"],
                 args["nodes"], args["input_tokens"], args["output_tokens"])
    assert info.value.field == field


def test_bad_precision_names_allowed_values(accelerators: dict[str, Accelerator]) -> None:
    with pytest.raises(SpecError) as info:
        estimate(KNOWN_MODELS["llama-3.1-8b"], "fp4", accelerators["H100"], 1, 1, 10, 10)
    assert info.value.field == "model.precision" and "int4" in info.value.allowed


def test_tensor_parallel_that_does_not_divide_the_heads_does_not_fit() -> None:
    from servestack.catalog import load_catalog
    from servestack.sizing import estimate
    from servestack.workload import known_model

    arch = known_model("qwen2.5-7b")
    assert arch is not None and arch.attention_heads == 28
    est = estimate(arch, "bf16", load_catalog().accelerators["H100"], 8, 1, 500, 100)
    assert not est.fits and est.reason is not None and "28 attention heads" in est.reason
    assert estimate(arch, "bf16", load_catalog().accelerators["H100"], 4, 1, 500, 100).fits
