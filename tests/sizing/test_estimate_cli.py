"""`servestack estimate` end to end through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servestack.cli import main

pytestmark = pytest.mark.usefixtures("cli_catalog")

_CONTRACT = ["fits", "weights_gib", "kv_cache_bytes_per_token", "max_concurrent_sequences",
             "output_tokens_per_s", "requests_per_s", "ttft_ms", "tpot_ms"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_keys_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "estimate", "--model", "llama-3.1-70b", "--precision", "fp8", "--input-tokens",
                        "1500", "--output-tokens", "300", "--accelerator", "H100", "--count", "2", "--json")
    doc = json.loads(out)
    assert code == 0
    assert list(doc)[: len(_CONTRACT)] == _CONTRACT
    assert doc["fits"] is True and doc["kv_cache_bytes_per_token"] == 163_840
    assert doc["output_tokens_per_s"] > 1000 and doc["max_concurrent_sequences"] > 10


def test_does_not_fit_exits_1_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "estimate", "--model", "llama-2-70b", "--precision", "bf16", "--input-tokens",
                        "100", "--output-tokens", "100", "--accelerator", "L4", "--count", "1")
    assert code == 1 and "does not fit" in out and "128.5 GiB" in out


def test_does_not_fit_json_has_fits_false(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "estimate", "--model", "llama-2-70b", "--input-tokens", "100", "--output-tokens",
                        "100", "--accelerator", "L4", "--count", "1", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["fits"] is False and doc["ttft_ms"] is None and doc["reason"]


def test_human_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "estimate", "--model", "llama-3.1-8b", "--input-tokens", "1000",
                        "--output-tokens", "200", "--accelerator", "L4", "--count", "1")
    assert code == 0 and "saturated" in out and "TPOT" in out


@pytest.mark.parametrize(("argv", "field"), [
    (["--model", "llama-9", "--input-tokens", "1", "--output-tokens", "1", "--accelerator", "H100", "--count", "1"],
     "--model"),
    (["--model", "llama-3.1-8b", "--input-tokens", "1", "--output-tokens", "1", "--accelerator", "H900",
      "--count", "1"], "--accelerator"),
    (["--model", "llama-3.1-8b", "--input-tokens", "1", "--output-tokens", "1", "--accelerator", "H100",
      "--count", "0"], "--count"),
    (["--model", "llama-3.1-8b", "--precision", "fp4", "--input-tokens", "1", "--output-tokens", "1",
      "--accelerator", "H100", "--count", "1"], "--precision"),
    (["--model", "llama-3.1-8b", "--output-tokens", "1", "--accelerator", "H100", "--count", "1"],
     "--input-tokens"),
])
def test_bad_input_exits_2_naming_field(capsys: pytest.CaptureFixture[str], argv: list[str], field: str) -> None:
    code, _, err = _run(capsys, "estimate", *argv)
    assert code == 2
    assert err.startswith(f"error: {field}:"), err
    assert "Traceback" not in err


def test_from_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: chat\nmodel: {id: llama-3.1-8b, precision: fp8, max_context_tokens: 8192}\n"
        "traffic: {peak_requests_per_s: 5, avg_requests_per_s: 2, avg_input_tokens: 1200, avg_output_tokens: 250}\n",
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "estimate", str(spec), "--accelerator", "L40S", "--count", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["precision"] == "fp8" and doc["input_tokens"] == 1200
    assert doc["kv_cache_bytes_per_token"] == 65_536


def test_measured_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "m.yaml"
    spec.write_text(
        "name: embed\nmodel:\n  measured:\n    memory_gib: 3\n    throughput:\n"
        "      - {accelerator: L4, requests_per_s: 420, latency_ms_p95: 25}\n"
        "traffic: {peak_requests_per_s: 100, avg_requests_per_s: 50}\n",
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "estimate", str(spec), "--accelerator", "L4", "--count", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["fits"] is True and doc["requests_per_s"] == 420
    code, _, err = _run(capsys, "estimate", str(spec), "--accelerator", "T4", "--count", "1")
    assert code == 2 and "--accelerator" in err


@pytest.mark.parametrize(("argv", "field", "fragment"), [
    # More accelerators than any node of that type holds.
    (["--model", "llama-3.1-8b", "--input-tokens", "100", "--output-tokens", "100", "--accelerator", "H100",
      "--count", "100000"], "--count", "use --nodes"),
    # Longer than the model's own context window (131072 tokens for Llama 3.1).
    (["--model", "llama-3.1-70b", "--input-tokens", "1000000", "--output-tokens", "100", "--accelerator", "H100",
      "--count", "8"], "--input-tokens", "131072"),
])
def test_impossible_layouts_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], field: str,
                                   fragment: str) -> None:
    code, _, err = _run(capsys, "estimate", *argv)
    assert code == 2 and err.startswith(f"error: {field}:") and fragment in err, err


def test_lengths_override_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: chat\nmodel: {id: llama-3.1-8b, precision: fp8, max_context_tokens: 8192}\n"
        "traffic: {peak_requests_per_s: 5, avg_requests_per_s: 2, avg_input_tokens: 1200, avg_output_tokens: 250}\n",
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "estimate", str(spec), "--accelerator", "L40S", "--count", "1",
                        "--input-tokens", "300", "--output-tokens", "50", "--json")
    doc = json.loads(out)
    assert code == 0 and (doc["input_tokens"], doc["output_tokens"]) == (300, 50)
    code, _, err = _run(capsys, "estimate", str(spec), "--accelerator", "L40S", "--count", "1",
                        "--input-tokens", "9000")
    assert code == 2 and err.startswith("error: --input-tokens:") and "8192" in err


def test_estimate_and_plan_agree_on_fp8_on_a_t4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The finding: estimate said fp8 fits on a T4 while plan rejected the same pair (precision_unsupported).
    code, out, _ = _run(capsys, "estimate", "--model", "llama-3.1-8b", "--precision", "fp8", "--input-tokens",
                        "500", "--output-tokens", "200", "--accelerator", "T4", "--count", "1", "--json")
    assert code == 1 and json.loads(out)["fits"] is False
    spec = tmp_path / "t4.yaml"
    spec.write_text("name: t4\nmodel: {id: llama-3.1-8b, precision: fp8}\n"
                    "traffic: {peak_requests_per_s: 1, avg_requests_per_s: 1}\n"
                    "placement: {clouds: [aws], accelerators_allowed: [T4]}\n")
    code, out, _ = _run(capsys, "plan", str(spec), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["binding_constraint"] == "precision_unsupported"
