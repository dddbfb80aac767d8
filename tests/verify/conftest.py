"""Fixtures: a fake OpenAI-compatible server on 127.0.0.1 and a small spec whose figures the tests choose."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_openai import FakeOpenAI, FakeSettings  # noqa: E402


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI(FakeSettings()).start()
    try:
        yield server
    finally:
        server.stop()


def write_spec(path: Path, *, input_tokens: int = 40, output_tokens: int = 12, ttft_ms: float | None = 500,
               tpot_ms: float | None = 100, latency_ms: float | None = None) -> Path:
    """A small Llama 3.1 8B spec; short outputs keep the fake server's event rate low and timings exact."""
    slo = {k: v for k, v in (("ttft_ms_p95", ttft_ms), ("tpot_ms_p95", tpot_ms), ("latency_ms_p95", latency_ms))
           if v is not None}
    spec = {
        "name": "chat-8b",
        "model": {"id": "llama-3.1-8b", "precision": "bf16", "max_context_tokens": 4096},
        "traffic": {"peak_requests_per_s": 40, "avg_requests_per_s": 20, "avg_input_tokens": input_tokens,
                    "avg_output_tokens": output_tokens},
        "slo": slo,
        "availability": {"min_replicas": 1, "zones": 1},
    }
    path.write_text("# a test spec\n" + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "spec.yaml")
