"""verify with a request mix: prompts sized per class in proportion to the shares, and every block per class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI

from servestack.cli import main
from servestack.verify.load import LoadClass, class_schedule

FAST = ["--rate", "40", "--duration", "1.5", "--warmup", "0.3", "--timeout", "5"]
SHORT = {"name": "short", "share": 0.7, "input_tokens": 40, "output_tokens": 4}
LONG = {"name": "long", "share": 0.3, "input_tokens": 400, "output_tokens": 20}
BLOCKS = {"requests", "errors", "ttft_ms", "tpot_ms", "latency_ms", "output_tokens_per_s", "requests_per_s",
          "error_rate", "slo", "slo_met"}


def write_mix_spec(path: Path, latency_ms: float | None = None) -> Path:
    slo: dict[str, Any] = {"ttft_ms_p95": 2000, "tpot_ms_p95": 200}
    if latency_ms is not None:
        slo["latency_ms_p95"] = latency_ms
    spec = {
        "name": "chat-8b",
        "model": {"id": "llama-3.1-8b", "precision": "bf16", "max_context_tokens": 4096},
        "traffic": {"peak_requests_per_s": 40, "avg_requests_per_s": 20, "request_mix": [SHORT, LONG]},
        "slo": slo,
        "availability": {"min_replicas": 1, "zones": 1},
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def verify(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["verify", *args, "--json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def test_each_request_is_sized_as_one_class_in_proportion_to_the_shares(
    fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = verify(capsys, str(write_mix_spec(tmp_path / "s.yaml")), "--endpoint", fake.base_url, *FAST)
    assert code == 0
    sizes = [(len(b["prompt"].split()), b["max_tokens"]) for b in fake.bodies]
    assert set(sizes) == {(40, 4), (400, 20)}, set(sizes)
    long_share = sizes.count((400, 20)) / len(sizes)
    assert 0.15 <= long_share <= 0.45, long_share  # 0.3 expected; the bounds are > 3 standard deviations at n~70
    classes = doc["classes"]
    assert list(classes) == ["short", "long"]
    assert sum(c["requests"] for c in classes.values()) == doc["requests"]
    for name, spec_class in (("short", SHORT), ("long", LONG)):
        assert set(classes[name]) >= BLOCKS, set(classes[name])
        assert classes[name]["share"] == spec_class["share"]
        assert classes[name]["input_tokens"] == spec_class["input_tokens"]
    # The plan's estimate per class (from the pool serving it): a ten times longer prompt has a longer TTFT.
    assert 0 < classes["short"]["predicted"]["ttft_ms"] < classes["long"]["predicted"]["ttft_ms"], classes
    assert classes["long"]["predicted"]["ttft_ratio"] is not None


def test_latency_is_reported_and_judged_per_class(
    fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 4 tokens take 3 gaps, 20 tokens 19: with 40 ms gaps, about 120 ms and 760 ms end to end.
    fake.settings.gap_s = 0.040
    spec = write_mix_spec(tmp_path / "s.yaml", latency_ms=500)
    code, doc = verify(capsys, str(spec), "--endpoint", fake.base_url, *FAST)
    short, long = doc["classes"]["short"], doc["classes"]["long"]
    assert short["latency_ms"]["p50"] < 300 < 600 < long["latency_ms"]["p50"], (short, long)
    assert short["slo"]["latency_ms_p95"]["met"] is True and short["slo_met"] is True
    assert long["slo"]["latency_ms_p95"]["met"] is False and long["slo_met"] is False
    # The plan sized every class to the SLO, so one class missing it fails the run.
    assert doc["slo_met"] is False and code == 1


def test_a_run_without_a_mix_has_no_classes(
    fake: FakeOpenAI, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc = verify(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST)
    assert code == 0 and "classes" not in doc


def test_the_class_schedule_is_repeatable_and_follows_the_shares() -> None:
    classes = (LoadClass("a", 0.9, 10, 1), LoadClass("b", 0.1, 100, 1))
    first = class_schedule(classes, 10_000, seed=3)
    assert first == class_schedule(classes, 10_000, seed=3)
    assert first != class_schedule(classes, 10_000, seed=4)
    share_b = sum(c.name == "b" for c in first) / len(first)
    assert 0.09 <= share_b <= 0.11, share_b


def test_a_fleet_stack_workload_without_a_server_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    stack = {"config": {"servestack:environment": "prod", "servestack:workloads": [{"name": "chat-8b"}],
                        "servestack:fleet": {"servers": []}}}
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(yaml.safe_dump(stack), encoding="utf-8")
    code = main(["verify", "-s", "prod", "-C", str(tmp_path), "--endpoint", "http://127.0.0.1:9", *FAST])
    err = capsys.readouterr().err
    # A stack with several servers is verified per workload (tests/verify/test_verify_fleet.py); one whose
    # workload has no server is refused, naming the key.
    assert code == 2 and "a multi-workload stack" in err and "servestack:fleet.servers" in err, err
