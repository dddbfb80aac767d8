"""Every plan knows what it downloads, or says at plan time what is missing."""

from __future__ import annotations

import pytest

from servestack.catalog import load_catalog
from servestack.contract.checkpoints import resolve_checkpoint
from servestack.contract.derive import missing_checkpoint_message
from servestack.contract.model import FP8_KV_ACCELERATORS, Serving
from servestack.workload import KNOWN_MODELS, WorkloadSpec, parse_spec


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


ARCH = ("architecture: {params_b: 32.8, layers: 64, hidden_size: 5120, attention_heads: 40, kv_heads: 8, "
        "vocab_size: 152064}")


def _arch_spec(model_extra: str) -> str:
    return (f"name: x\nmodel: {{{ARCH}, precision: fp8, max_context_tokens: 8192, {model_extra}}}\n"
            "traffic: {peak_requests_per_s: 2, avg_requests_per_s: 1, avg_input_tokens: 500, avg_output_tokens: 100}\n"
            "slo: {ttft_ms_p95: 3000, tpot_ms_p95: 100}\n")


def _chosen_serving(spec: WorkloadSpec) -> Serving:
    from servestack.selector import plan

    catalog = load_catalog()
    chosen = plan(spec, catalog).chosen
    assert chosen is not None
    return chosen.deployment(spec, catalog).serving


def test_a_named_16_bit_release_at_fp8_is_quantized_on_load_and_downloaded_at_16_bits() -> None:
    spec = parse_spec(_arch_spec("checkpoint: acme/coder-32b, checkpoint_precision: bf16"))
    serving = _chosen_serving(spec)
    assert serving.checkpoint == "acme/coder-32b" and serving.quantization == "fp8"
    # What the node downloads and caches is the 16-bit release, twice the fp8 weights the plan sized.
    assert serving.checkpoint_gib == pytest.approx(2 * serving.weights_gib, abs=0.01)
    pre_quantized = parse_spec(_arch_spec("checkpoint: acme/coder-32b-fp8"))
    served = _chosen_serving(pre_quantized)
    assert served.quantization is None and served.checkpoint_gib == served.weights_gib


@pytest.mark.parametrize(("model_extra", "wanted"), [
    ("checkpoint_precision: bf16", "only with model.checkpoint"),
    ("checkpoint: acme/coder-32b-awq, checkpoint_precision: int4", "cannot quantize a release to int8/int4"),
])
def test_checkpoint_precision_that_vllm_cannot_serve_is_refused_naming_the_field(model_extra: str, wanted: str) -> None:
    from servestack.errors import SpecError

    with pytest.raises(SpecError) as caught:
        parse_spec(_arch_spec(model_extra))
    assert "model.checkpoint_precision" in str(caught.value) and wanted in str(caught.value)
