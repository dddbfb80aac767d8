"""verify against the fake server: it measures what the server was set to, counts errors, judges the SLO."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import write_spec
from fake_openai import FakeOpenAI

from servestack.cli import main
from servestack.verify import LoadConfig, arrival_times, run_load

FAST = ["--rate", "25", "--duration", "1.2", "--warmup", "0.3", "--timeout", "5"]


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["verify", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def within(measured: float, expected: float, tolerance: float = 0.05) -> bool:
    return abs(measured - expected) <= tolerance * expected


@pytest.mark.parametrize("api", ["completions", "chat"])
def test_reproduces_the_set_ttft_and_token_gap_within_5_percent(
    api: str, fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Delays large against the few milliseconds a request costs the client and the fake on a busy machine.
    fake.settings.ttft_s, fake.settings.gap_s = 0.500, 0.050
    spec = write_spec(tmp_path / "s.yaml", ttft_ms=2000, tpot_ms=200)
    code, doc, _ = verify(capsys, str(spec), "--endpoint", fake.base_url, "--api", api, *FAST,
                          "--warmup", "0.2")
    assert code == 0 and doc["errors"] == 0 and doc["requests"] > 10
    assert within(doc["ttft_ms"]["p50"], 500.0), doc["ttft_ms"]
    assert within(doc["tpot_ms"]["p50"], 50.0), doc["tpot_ms"]
    # 12 tokens: the first at the TTFT, eleven gaps after it.
    assert within(doc["latency_ms"]["p50"], 500.0 + 11 * 50.0), doc["latency_ms"]
    assert doc["mean_output_tokens"] == 12


def test_token_count_comes_from_the_server_usage_not_the_event_count(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.tokens_per_event, fake.settings.gap_s = 3, 0.1
    code, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    assert code == 0 and doc["mean_output_tokens"] == 12
    # Four events 100 ms apart carry 12 tokens: the gap per token is 3 x 100 ms / 11.
    assert within(doc["tpot_ms"]["p50"], 300.0 / 11), doc["tpot_ms"]


def test_achieved_rate_is_the_completions_in_the_measured_window(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    # A server with no latency completes each request as it arrives: the achieved rate is the arrivals'.
    arrivals = [t for t in arrival_times(25, 1.5, seed=0) if 0.3 <= t < 1.5]
    assert code == 0 and doc["requests"] == len(arrivals)
    assert within(doc["requests_per_s"], len(arrivals) / 1.2, 0.1), doc
    assert within(doc["output_tokens_per_s"], doc["requests_per_s"] * 12, 0.01), doc


def test_sends_the_spec_sized_request(fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path / "s.yaml", input_tokens=64, output_tokens=7)
    code, doc, _ = verify(capsys, str(spec), "--endpoint", fake.base_url + "/v1", *FAST)
    assert code == 0
    body = fake.bodies[0]
    assert fake.paths[0] == "/v1/completions"
    assert body["model"] == "chat-8b" and body["max_tokens"] == 7 and body["stream"] is True
    assert body["ignore_eos"] is True and len(body["prompt"].split()) == 64
    assert len({b["prompt"] for b in fake.bodies}) == len(fake.bodies), "repeated prompts: a prefix cache serves them"


def test_warmup_requests_are_sent_but_not_counted(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    assert code == 0 and doc["warmup_requests"] > 0
    assert len(fake.bodies) == doc["requests"] + doc["warmup_requests"]


def test_counts_http_errors_and_fails_above_one_percent(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.error_rate = 0.2
    code, doc, err = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST[:4], "--warmup", "0")
    refused = sum(1 for _ in fake.bodies) - doc["requests"] + doc["errors"]  # every request was measured
    assert refused == doc["errors"] > 0 and doc["error_kinds"] == {"http_503": doc["errors"]}
    assert code == 1 and doc["slo_met"] is False
    assert "of requests failed (more than 1 %)" in err and "overloaded" in err


def test_truncated_stream_is_an_error(fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.settings.drop_done = True
    code, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    assert code == 1 and doc["errors"] == doc["requests"] and doc["error_kinds"] == {"stream": doc["requests"]}


@pytest.mark.parametrize(("ttft_slo", "expected"), [(150.0, 1), (3000.0, 0)])
def test_exit_code_follows_the_ttft_slo(
    ttft_slo: float, expected: int, fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.ttft_s = 0.200
    spec = write_spec(tmp_path / "s.yaml", ttft_ms=ttft_slo)
    code, doc, _ = verify(capsys, str(spec), "--endpoint", fake.base_url, *FAST)
    assert code == expected
    assert doc["slo"]["ttft_ms_p95"]["target"] == ttft_slo
    assert doc["slo"]["ttft_ms_p95"]["met"] is (expected == 0) and doc["slo_met"] is (expected == 0)


def test_tpot_and_latency_slos_are_judged_at_p95(
    fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.gap_s = 0.020
    spec = write_spec(tmp_path / "s.yaml", tpot_ms=10, latency_ms=2000)
    code, doc, _ = verify(capsys, str(spec), "--endpoint", fake.base_url, *FAST)
    assert code == 1
    assert doc["slo"]["tpot_ms_p95"]["met"] is False and doc["slo"]["latency_ms_p95"]["met"] is True


def test_json_starts_with_the_contract_fields(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    assert list(doc)[:9] == ["requests", "errors", "ttft_ms", "tpot_ms", "latency_ms", "output_tokens_per_s", "slo",
                             "predicted", "slo_met"]
    for key in ("ttft_ms", "tpot_ms", "latency_ms"):
        assert list(doc[key]) == ["p50", "p95", "p99"]
    assert set(doc["slo"]) == {"ttft_ms_p95", "tpot_ms_p95"}
    assert set(doc["slo"]["ttft_ms_p95"]) == {"target", "measured", "met"}


def test_predicted_is_the_plan_estimate(fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan_json(spec_file, capsys)
    chosen = out["chosen"]["estimate"]
    fake.settings.ttft_s = 0.05
    _, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    pred = doc["predicted"]
    assert code == 0 and pred["source"].startswith("plan: chosen stack")
    assert pred["ttft_ms"] == pytest.approx(chosen["ttft_ms"], rel=1e-3)
    assert pred["tpot_ms"] == pytest.approx(chosen["tpot_ms"], rel=1e-3)
    assert pred["ttft_ratio"] == pytest.approx(doc["ttft_ms"]["p95"] / pred["ttft_ms"], rel=1e-2)


def run_plan_json(spec: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = main(["plan", str(spec), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_a_server_refusing_ignore_eos_gets_requests_without_it(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.settings.refuse_ignore_eos = True
    code, doc, err = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    assert doc["ignore_eos"] is False and "refused ignore_eos" in err
    assert "ignore_eos" not in fake.bodies[-1]
    # The refusals landed in the warm-up, so the measured run is clean.
    assert code == 0 and doc["errors"] == 0


def test_connections_are_reused_between_requests(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A client that stops reading at [DONE] leaves the response unfinished and loses the connection, so every
    # request pays a TCP connect and its CPU: that halves the rate one core can drive.
    code, doc, _ = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    sent = doc["requests"] + doc["warmup_requests"]
    assert code == 0 and fake.connections < sent / 2, (fake.connections, sent)


def test_text_output_with_a_progress_bar_on_a_terminal(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code = main(["verify", str(spec_file), "--endpoint", fake.base_url, *FAST])
    out, err = capsys.readouterr()
    assert code == 0 and "SLO met" in out and "TTFT ms" in out and "predicted by: plan: chosen stack" in out
    assert "verify" in err, "the progress bar draws on stderr"


def _config(fake: FakeOpenAI) -> LoadConfig:
    return LoadConfig(url=fake.base_url + "/v1/completions", api="completions", model="chat-8b", rate=25.0,
                      duration_s=1.2, warmup_s=0.2, timeout_s=5.0, input_words=40, max_tokens=12)


def test_the_callers_heap_is_out_of_the_collectors_reach_during_the_run(fake: FakeOpenAI) -> None:
    frozen: list[int] = []
    tracked_before = len(gc.get_objects())
    run_load(_config(fake), progress=lambda *_: frozen.append(gc.get_freeze_count()))
    assert frozen and min(frozen) >= 0.9 * tracked_before, (min(frozen), tracked_before)
    assert gc.get_freeze_count() == 0, "the caller's heap goes back to the collector after the run"


def test_full_collections_of_a_large_heap_during_the_run_do_not_count_as_latency(fake: FakeOpenAI) -> None:
    # What a long-lived process (a notebook, a test session) meets: a heap of a million objects, and full
    # collections while requests are in flight. Each would stall both ends for ~0.1 s were the heap scanned.
    heap = [[i] for i in range(1_000_000)]
    fake.settings.ttft_s, fake.settings.gap_s = 0.500, 0.050
    run = run_load(_config(fake), progress=lambda *_: gc.collect())
    ttft = sorted(r.ttft_s for r in run.results if not r.warmup and r.ttft_s is not None)
    assert len(heap) and len(ttft) > 10
    assert within(ttft[len(ttft) // 2], 0.500), ttft
