"""Every plan knows what it downloads, or says at plan time what is missing."""

from __future__ import annotations

import pytest

from servestack.catalog import load_catalog
from servestack.contract.checkpoints import resolve_checkpoint
from servestack.contract.derive import missing_checkpoint_message
from servestack.contract.model import FP8_KV_ACCELERATORS
from servestack.workload import KNOWN_MODELS, parse_spec


@pytest.mark.parametrize("model_id", sorted(KNOWN_MODELS))
def test_every_built_in_model_has_a_16_bit_and_an_fp8_checkpoint(model_id: str) -> None:
    for precision in ("bf16", "fp16", "fp8"):
        assert resolve_checkpoint(model_id, precision, None) is not None


def test_fp8_prefers_a_published_release_over_quantizing_on_load() -> None:
    published = resolve_checkpoint("llama-3.1-70b", "fp8", None)
    assert published is not None and published.quantization is None and published.download_ratio == 1.0
    on_load = resolve_checkpoint("qwen2.5-7b", "fp8", None)
    assert on_load is not None and on_load.quantization == "fp8" and on_load.download_ratio == 2.0


def test_int4_and_int8_serve_pre_quantized_releases() -> None:
    int4 = resolve_checkpoint("llama-3.1-8b", "int4", None)
    assert int4 is not None and "AWQ" in int4.repository and not int4.gated
    assert resolve_checkpoint("llama-2-7b", "int8", None) is None


def test_gated_publishers() -> None:
    base = resolve_checkpoint("llama-3.1-8b", "bf16", None)
    assert base is not None and base.gated
    qwen = resolve_checkpoint("qwen2.5-7b", "bf16", None)
    assert qwen is not None and not qwen.gated


def test_missing_checkpoint_is_said_at_plan_time() -> None:
    spec = parse_spec("name: x\nmodel: {id: llama-2-7b, precision: int8}\n"
                      "traffic: {peak_requests_per_s: 1, avg_requests_per_s: 1}\n")
    message = missing_checkpoint_message(spec)
    assert message is not None and "model.checkpoint" in message and "int8" in message
    named = parse_spec("name: x\nmodel: {id: llama-2-7b, precision: int8, checkpoint: acme/llama-2-7b-w8a8}\n"
                       "traffic: {peak_requests_per_s: 1, avg_requests_per_s: 1}\n")
    assert missing_checkpoint_message(named) is None


def test_fp8_kv_parts_match_the_catalog() -> None:
    catalog = load_catalog()
    with_fp8 = {a.id for a in catalog.accelerators.values() if a.fp8_tflops and a.vendor != "aws"}
    assert with_fp8 == set(FP8_KV_ACCELERATORS)
