"""A stuck stream, a silent endpoint or a closed port ends the run with a clear message, never a hang."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI

from servestack.cli import main

TIMEOUT_S = 0.6
RUN = ["--rate", "20", "--duration", "0.5", "--warmup", "0", "--timeout", str(TIMEOUT_S), "--json"]
# The run's own deadline is warm-up + duration + timeout + 1 s; the join below allows several times that, so it
# only fails when verify does not bound itself at all.
JOIN_BOUND_S = 5 * (0.5 + TIMEOUT_S + 1.0) + 10


def run_bounded(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    outcome: dict[str, int] = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("code", main(["verify", *args, *RUN])), daemon=True)
    worker.start()
    worker.join(JOIN_BOUND_S)
    assert not worker.is_alive(), "verify did not end on its own deadline"
    out, err = capsys.readouterr()
    return outcome["code"], json.loads(out), err


def test_a_stream_stalled_after_its_first_token_times_out(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.stall_after_tokens = 2
    code, doc, err = run_bounded(capsys, str(spec_file), "--endpoint", fake.base_url)
    assert code == 1 and doc["requests"] > 0 and doc["errors"] == doc["requests"]
    assert doc["error_kinds"] == {"timeout": doc["requests"]}
    assert "stalled after its first token" in doc["first_error"] and "no request succeeded" in err


def test_an_endpoint_that_never_answers_times_out(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.silent = True
    code, doc, err = run_bounded(capsys, str(spec_file), "--endpoint", fake.base_url)
    assert code == 1 and doc["error_kinds"] == {"timeout": doc["requests"]} and doc["slo_met"] is False
    assert "no first token" in doc["first_error"] and "no request succeeded" in err
    assert doc["ttft_ms"] == {"p50": None, "p95": None, "p99": None}
    assert doc["slo"]["ttft_ms_p95"]["measured"] is None and doc["slo"]["ttft_ms_p95"]["met"] is False


def test_a_closed_port_is_a_connect_error(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, doc, err = run_bounded(capsys, str(spec_file), "--endpoint", f"http://127.0.0.1:{port}")
    assert code == 1 and doc["error_kinds"] == {"connect": doc["requests"]}
    assert "no request succeeded" in err
