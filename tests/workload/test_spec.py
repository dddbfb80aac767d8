"""The workload spec: valid specs load, every bad input names its field, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from servestack.errors import SpecError
from servestack.workload import KNOWN_MODELS, load_spec, parse_spec
from servestack.workload.schema import render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))

BASE = """
name: svc
model: {id: llama-3.1-8b, precision: bf16}
traffic: {peak_requests_per_s: 4, avg_requests_per_s: 2, avg_input_tokens: 500, avg_output_tokens: 100}
"""


def test_examples_all_load() -> None:
    assert len(EXAMPLES) >= 5
    for path in EXAMPLES:
        assert load_spec(path).name


def test_schema_file_is_in_sync_with_models() -> None:
    committed = (ROOT / "schemas" / "workload.schema.json").read_text()
    assert committed == render(), "run: python -m servestack.workload.schema > schemas/workload.schema.json"


def test_model_ids_are_case_insensitive_and_canonicalised() -> None:
    spec = parse_spec(BASE.replace("llama-3.1-8b", "Llama-3.1-8B"))
    assert spec.model.id == "llama-3.1-8b"
    arch = spec.model.resolved_architecture()
    assert arch is not None and arch.kv_heads == 8


def test_every_builtin_model_has_a_source_and_consistent_shape() -> None:
    assert set(KNOWN_MODELS) >= {
        "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b",
        "mistral-7b", "mixtral-8x7b", "qwen2.5-7b", "qwen2.5-72b", "gpt-j-6b",
    }
    for model_id, arch in KNOWN_MODELS.items():
        assert "config.json" in arch.source, model_id
        assert arch.attention_heads % arch.kv_heads == 0, model_id
        assert arch.params_read_per_token_b <= arch.params_b, model_id


def test_architecture_block_defaults_head_dim() -> None:
    spec = parse_spec(BASE.replace(
        "{id: llama-3.1-8b, precision: bf16}",
        "{architecture: {params_b: 3, layers: 24, hidden_size: 3072, attention_heads: 24, kv_heads: 8,"
        " vocab_size: 32000}}",
    ))
    arch = spec.model.resolved_architecture()
    assert arch is not None and arch.head_dim == 128


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        # Each case changes one thing in a valid spec.
        ("llama-3.1-8b", "llama-3.1-8c", "model.id", "did you mean 'llama-3.1-8b'"),
        ("precision: bf16", "precision: fp4", "model.precision", "'int4'"),
        ("peak_requests_per_s: 4", "peak_requests_per_s: 0", "traffic.peak_requests_per_s", "greater than 0"),
        ("peak_requests_per_s: 4", "peak_requests_per_s: -3", "traffic.peak_requests_per_s", "greater than 0"),
        ("avg_requests_per_s: 2", "avg_requests_per_s: 9", "traffic.avg_requests_per_s", "cannot exceed peak_"),
        ("avg_output_tokens: 100", "avg_output_tokens: 100, burst: 3", "traffic.burst", "allowed keys of traffic"),
        ("name: svc", "name: Svc_1", "name", "DNS-1123"),
    ],
)
def test_bad_values_name_field_value_and_rule(old: str, new: str, field: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE.replace(old, new))
    assert info.value.field == field
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("extra", "field", "fragment"),
    [
        ("availability: {zones: 0}", "availability.zones", "greater than 0"),
        ("budget: {monthly_usd: lots}", "budget.monthly_usd", "valid number"),
        ("placement: {clouds: [azure]}", "placement.clouds[0]", "'aws' or 'gcp'"),
        ("pricing: {spot: sometimes}", "pricing.spot", "'never', 'allowed' or 'only'"),
        ("colour: blue", "colour", "allowed keys of spec"),
        ("placement: {clouds: [gpc]}", "placement.clouds[0]", "did you mean 'gcp'"),
        ("pricing: {spot: alowed}", "pricing.spot", "did you mean 'allowed'"),
        ("placment: {clouds: [aws]}", "placment", "did you mean 'placement'"),
    ],
)
def test_bad_sections(extra: str, field: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE + extra + "\n")
    assert info.value.field == field
    assert fragment in str(info.value)


def test_malformed_yaml_names_the_line() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec("name: svc\nmodel: {id: llama-2-7b\ntraffic: [\n")
    assert "line 3" in str(info.value)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")


def test_context_must_hold_the_average_request() -> None:
    with pytest.raises(SpecError, match="max_context_tokens"):
        parse_spec(BASE.replace("precision: bf16", "precision: bf16, max_context_tokens: 256"))


@pytest.mark.parametrize(
    ("old", "new", "field", "fragment"),
    [
        # A cross-field rule names the one field that breaks it and never echoes the whole spec back.
        ("precision: bf16", "precision: bf16, max_context_tokens: 256", "model.max_context_tokens", "shorter than"),
        (
            "{id: llama-3.1-8b, precision: bf16}",
            "{architecture: {params_b: 3, layers: 2, hidden_size: 64, attention_heads: 4, kv_heads: 8,"
            " vocab_size: 100}}",
            "model.architecture.kv_heads",
            "cannot exceed attention_heads (4)",
        ),
    ],
)
def test_cross_field_errors_name_the_field(old: str, new: str, field: str, fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE.replace(old, new))
    assert info.value.field == field
    assert fragment in str(info.value)
    assert "'name': 'svc'" not in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("peak_requests_per_s: 4", "peak_requests_per_s: true", "traffic.peak_requests_per_s"),
        ("precision: bf16", "precision: bf16, max_context_tokens: true", "model.max_context_tokens"),
    ],
)
def test_a_boolean_is_not_a_number(old: str, new: str, field: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_spec(BASE.replace(old, new))
    assert info.value.field == field and "boolean" in str(info.value)


def test_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.value == "<empty>" and "NoneType" not in str(info.value)
