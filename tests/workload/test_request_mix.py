"""traffic.request_mix and traffic.request_log: valid mixes load; every bad mix names its field (exit 2)."""

from __future__ import annotations

import itertools
import math
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.cli import main
from servestack.errors import SpecError
from servestack.workload import parse_spec
from servestack.workload import request_log as request_log_module
from servestack.workload.load import load_spec
from servestack.workload.request_log import MIN_CLASS_SHARE, classes_from_log

HEAD = """
name: svc
model: {id: llama-3.1-8b, precision: bf16, max_context_tokens: 8192}
"""
MIX = HEAD + """
traffic:
  peak_requests_per_s: 20
  avg_requests_per_s: 10
  request_mix:
    - {name: short, share: 0.8, input_tokens: 200, output_tokens: 100}
    - {name: long, share: 0.2, input_tokens: 6000, output_tokens: 600}
"""


def field_of(text: str, base_dir: Path | None = None) -> str:
    with pytest.raises(SpecError) as exc:
        parse_spec(text, base_dir=base_dir)
    return exc.value.field


def test_a_mix_loads_and_its_averages_are_the_share_weighted_means() -> None:
    traffic = parse_spec(MIX).traffic
    assert traffic.avg_input_tokens == round(0.8 * 200 + 0.2 * 6000)
    assert traffic.avg_output_tokens == round(0.8 * 100 + 0.2 * 600)
    assert traffic.classes() == [("short", 0.8, 200, 100), ("long", 0.2, 6000, 600)]


def test_averages_alone_are_one_class_of_every_request() -> None:
    spec = parse_spec(HEAD + "traffic: {peak_requests_per_s: 2, avg_requests_per_s: 1, avg_input_tokens: 300, "
                             "avg_output_tokens: 50}")
    assert spec.traffic.classes() == [("all", 1.0, 300, 50)]


def test_averages_that_agree_with_the_mix_are_accepted() -> None:
    spec = parse_spec(MIX.replace("avg_requests_per_s: 10", "avg_requests_per_s: 10\n  avg_input_tokens: 1360"))
    assert spec.traffic.avg_input_tokens == 1360


def test_averages_that_disagree_with_the_mix_name_the_average() -> None:
    text = MIX.replace("avg_requests_per_s: 10", "avg_requests_per_s: 10\n  avg_input_tokens: 500")
    assert field_of(text) == "traffic.avg_input_tokens"


def test_shares_that_do_not_sum_to_one_name_the_mix() -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec(MIX.replace("share: 0.2", "share: 0.3"))
    assert exc.value.field == "traffic.request_mix" and "sum to 1" in exc.value.allowed


def test_shares_within_the_tolerance_are_accepted() -> None:
    parse_spec(MIX.replace("share: 0.2", "share: 0.2000000001"))


def test_a_share_above_one_names_that_class() -> None:
    assert field_of(MIX.replace("share: 0.2", "share: 1.2")) == "traffic.request_mix[1].share"


def test_a_class_longer_than_the_context_names_that_class() -> None:
    with pytest.raises(SpecError) as exc:
        parse_spec(MIX.replace("input_tokens: 6000", "input_tokens: 8000"))
    assert exc.value.field == "traffic.request_mix[1].input_tokens"
    assert "8192" in exc.value.allowed


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [("input_tokens: 6000", "input_tokens: 1" + "0" * 400, "traffic.request_mix[1].input_tokens"),
     ("share: 0.2", "share: .inf", "traffic.request_mix[1].share"),
     ("share: 0.2", "share: abc", "traffic.request_mix[1].share"),
     ("share: 0.2", "share: true", "traffic.request_mix[1].share")],
    ids=["huge-tokens", "infinite-share", "text-share", "boolean-share"],
)
def test_hostile_class_values_name_their_field(old: str, new: str, field: str) -> None:
    assert field_of(MIX.replace(old, new)) == field


def test_class_names_are_unique_labels() -> None:
    assert field_of(MIX.replace("name: long", "name: short")) == "traffic.request_mix[1].name"
    assert field_of(MIX.replace("name: long", "name: Long_Docs")) == "traffic.request_mix[1].name"


def test_a_mix_needs_an_analytic_model() -> None:
    text = MIX.replace(
        "model: {id: llama-3.1-8b, precision: bf16, max_context_tokens: 8192}",
        "model: {measured: {memory_gib: 2, throughput: [{accelerator: L4, requests_per_s: 50, latency_ms_p95: 40}]},"
        " checkpoint: org/embed}",
    )
    assert field_of(text) == "traffic.request_mix"


def test_a_bad_mix_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(MIX.replace("share: 0.2", "share: 0.3"))
    assert main(["plan", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "traffic.request_mix" in err and "Traceback" not in err


# --- request_log -------------------------------------------------------------------------------------

LOG_SPEC = HEAD + """
traffic:
  peak_requests_per_s: 20
  avg_requests_per_s: 10
  request_log: logs/requests.csv
"""


def write_log(tmp_path: Path, text: str) -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "logs" / "requests.csv").write_text(text)
    spec = tmp_path / "spec.yaml"
    spec.write_text(LOG_SPEC)
    return spec


def test_a_log_becomes_quantile_classes_relative_to_the_spec_file(tmp_path: Path) -> None:
    # 80 short and 20 long requests: the top quartile bin holds the 20 long ones plus 5 short ones.
    rows = ["input_tokens,output_tokens,model"] + ["200,100,x"] * 80 + ["6000,600,x"] * 20
    spec = load_spec(write_log(tmp_path, "\n".join(rows) + "\n"))
    mix = spec.traffic.request_mix
    assert mix is not None
    # Equal input lengths never straddle a cut, so the 80 identical short prompts are one class.
    assert [(c.name, c.share, c.input_tokens, c.output_tokens) for c in mix] == [
        ("in-200-200", 0.8, 200, 100), ("in-6000-6000", pytest.approx(0.2), 6000, 600)]
    assert spec.traffic.request_log is None


def test_log_bins_take_the_mean_rounded_up() -> None:
    classes = classes_from_log([(100, 10), (101, 11), (5000, 500), (7001, 700)], max_classes=2)
    assert [(c["input_tokens"], c["output_tokens"], c["share"]) for c in classes] == [(101, 11, 0.5), (6001, 600, 0.5)]


def test_a_headerless_log_is_read_as_input_then_output(tmp_path: Path) -> None:
    spec = load_spec(write_log(tmp_path, "300,40\n300,40\n"))
    assert spec.traffic.classes()[0][2:] == (300, 40)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("input_tokens,output_tokens\n200,abc\n", "row 2"),
        ("input_tokens,output_tokens\n0,10\n", "below 1"),
        ("prompt,completion\n1,2\n", "header"),
        ("input_tokens,output_tokens\n", "no requests"),
    ],
    ids=["not-a-number", "zero-tokens", "unknown-header", "empty"],
)
def test_a_bad_log_names_the_field_and_the_row(tmp_path: Path, content: str, says: str) -> None:
    with pytest.raises(SpecError) as exc:
        load_spec(write_log(tmp_path, content))
    assert exc.value.field == "traffic.request_log" and says in exc.value.allowed


def test_a_missing_log_names_the_field(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(LOG_SPEC)
    with pytest.raises(SpecError) as exc:
        load_spec(spec)
    assert exc.value.field == "traffic.request_log" and "does not exist" in exc.value.allowed


def test_a_log_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    os.mkfifo(tmp_path / "logs" / "requests.csv")
    spec = tmp_path / "spec.yaml"
    spec.write_text(LOG_SPEC)
    with pytest.raises(SpecError) as exc:
        load_spec(spec)
    assert "regular file" in exc.value.allowed


def test_an_oversized_log_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_log_module, "MAX_LOG_BYTES", 64)
    with pytest.raises(SpecError) as exc:
        load_spec(write_log(tmp_path, "200,100\n" * 20))
    assert "larger than" in exc.value.allowed


def test_a_log_and_a_mix_together_are_refused(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(MIX.replace("  request_mix:", "  request_log: x.csv\n  request_mix:"))
    with pytest.raises(SpecError) as exc:
        load_spec(spec)
    assert exc.value.field == "traffic.request_log" and "not both" in exc.value.allowed


def test_a_log_in_a_spec_built_in_code_is_refused() -> None:
    from pydantic import ValidationError

    from servestack.workload import Traffic

    with pytest.raises(ValidationError):
        Traffic(peak_requests_per_s=1, avg_requests_per_s=1, request_log="x.csv")


def test_a_long_tail_of_spread_lengths_gets_a_class_of_its_own() -> None:
    # The traffic as a gateway logs it: 80 % short prompts of 100-400 tokens, 20 % of 4,000-7,000.
    # Equal-count bins put the top quartile at 5 % short + 20 % long, whose mean understated the long prompts.
    rng = random.Random(1)
    log = [(rng.randint(100, 400), 100) if rng.random() < 0.8 else (rng.randint(4000, 7000), 600) for _ in range(2000)]
    longest = classes_from_log(log)[-1]
    long_requests = [r for r in log if r[0] >= 4000]
    assert longest["name"] == f"in-{min(r[0] for r in long_requests)}-{max(r[0] for r in long_requests)}"
    assert longest["share"] == pytest.approx(len(long_requests) / len(log))
    assert longest["input_tokens"] == math.ceil(sum(r[0] for r in long_requests) / len(long_requests))


def test_a_rare_size_joins_its_neighbours_class() -> None:
    log = [(200 + i % 50, 100) for i in range(990)] + [(90_000, 500)] * 10  # 1 % at 90k tokens
    classes = classes_from_log(log)
    assert all(c["share"] >= MIN_CLASS_SHARE for c in classes), classes
    assert str(classes[-1]["name"]).endswith("-90000")


def _spread(bins: list[list[int]]) -> float:
    total = 0.0
    for lengths in bins:
        logs = [math.log(x) for x in lengths]
        mean = sum(logs) / len(logs)
        total += sum((v - mean) ** 2 for v in logs)
    return total


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40_000), st.integers(1, 2_000)), min_size=1, max_size=40),
       st.integers(1, 4))
def test_log_classes_partition_the_requests_at_the_least_spread_cuts(log: list[tuple[int, int]], most: int) -> None:
    classes = classes_from_log(log, max_classes=most)
    assert 1 <= len(classes) <= most and sum(c["share"] for c in classes) == pytest.approx(1.0)  # type: ignore[misc]
    ranges = [tuple(int(x) for x in str(c["name"]).split("-")[1:]) for c in classes]
    assert all(lo <= hi < nxt for (lo, hi), (nxt, _) in zip(ranges, ranges[1:], strict=False))
    got = [[i for i, _ in log if lo <= i <= hi] for lo, hi in ranges]
    assert sum(map(len, got)) == len(log)
    need = math.ceil(MIN_CLASS_SHARE * len(log))
    assert all(len(b) >= need for b in got)
    # Brute force over every way to cut the distinct lengths into at most `most` bins of at least `need`.
    distinct = sorted({i for i, _ in log})
    best = math.inf
    for k in range(1, min(most, len(distinct)) + 1):
        for cuts in itertools.combinations(range(1, len(distinct)), k - 1):
            edges = [0, *cuts, len(distinct)]
            bins = [[i for i, _ in log if distinct[a] <= i <= distinct[b - 1]]
                    for a, b in zip(edges, edges[1:], strict=False)]
            if all(len(b) >= need for b in bins):
                best = min(best, _spread(bins))
    assert _spread(got) == pytest.approx(best, abs=1e-9)
