"""Specs a reviewer might send to break `plan`: each is refused with the file, the line and what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from servestack.errors import SpecError
from servestack.workload import load_spec, parse_spec
from servestack.yamlio import MAX_DEPTH

VALID = """\
name: svc
model: {id: llama-3.1-8b, precision: bf16}
traffic: {peak_requests_per_s: 4, avg_requests_per_s: 2, avg_input_tokens: 500, avg_output_tokens: 100}
"""


def test_a_key_given_twice_is_refused_naming_key_and_lines() -> None:
    # Last-one-wins would silently plan for the second name; the stack reader already refuses this.
    with pytest.raises(SpecError) as err:
        parse_spec(VALID + "name: other\n", source="spec.yaml")
    assert "duplicate key 'name' (first given on line 1)" in str(err.value)
    assert "spec.yaml, line 4" in str(err.value)


def test_nesting_deeper_than_the_bound_is_an_input_error_not_recursion() -> None:
    text = VALID + "placement: {regions: " + "[" * 1500 + "]" * 1500 + "}\n"
    with pytest.raises(SpecError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse_spec(text, source="deep.yaml")


def test_an_alias_bomb_is_refused() -> None:
    bomb = "x0: &x0 [a, a, a, a, a, a, a, a]\n" + "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 8)}]\n" for i in range(1, 10)
    )
    with pytest.raises(SpecError, match="aliases expand to more than"):
        parse_spec(VALID + bomb, source="bomb.yaml")


def test_binary_file_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(VALID.encode() + b"budget: {monthly_usd: \x80\x81}\n")
    with pytest.raises(SpecError, match=r"spec\.yaml, line 4: is not UTF-8 text"):
        load_spec(path)


def test_a_directory_is_not_a_spec(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a directory"):
        load_spec(tmp_path)


def test_every_error_is_reported_the_typo_with_its_hint_first() -> None:
    text = VALID.replace("peak_requests_per_s: 4, ", "peak_request_per_s: 4, ")
    with pytest.raises(SpecError) as err:
        parse_spec(text)
    # The typo leads (it explains the missing key), and the missing key is still reported.
    assert err.value.field == "traffic.peak_request_per_s"
    assert "did you mean 'peak_requests_per_s'" in err.value.allowed
    assert [e.field for e in err.value.also] == ["traffic.peak_requests_per_s"]
    assert "this field is required" in str(err.value)


def test_errors_in_different_blocks_are_all_listed() -> None:
    text = VALID.replace("precision: bf16", "precision: fp9") + "slo: {ttft_ms_p95: -1}\nbudgte: {}\n"
    with pytest.raises(SpecError) as err:
        parse_spec(text)
    fields = [err.value.field, *(e.field for e in err.value.also)]
    assert fields[0] == "budgte"  # unknown key with its did-you-mean first
    assert set(fields[1:]) == {"model.precision", "slo.ttft_ms_p95"}
