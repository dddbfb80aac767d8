"""Bad flags and missing sources exit 2 naming what is wrong; URL, percentile and arrival helpers."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from servestack.cli import main
from servestack.cli.verify_cmd import endpoint_url
from servestack.verify import arrival_times, make_prompt, percentile

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("flags", "named"), [
    (["--rate", "fast"], "--rate: 'fast'"),
    (["--rate", "-3"], "--rate: '-3'"),
    (["--rate", "nan"], "--rate: 'nan'"),
    (["--duration", "0"], "--duration: 0.0"),
    (["--warmup", "-1"], "--warmup: -1.0"),
    (["--timeout", "0"], "--timeout: 0.0"),
    (["--rate", "0.1", "--duration", "2"], "--duration: 2.0"),
    (["--accelerator", "L4"], "--accelerator: 'L4' is not valid; only used with --write-measured"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_bad_flags_exit_2_naming_the_flag(
    flags: list[str], named: str, spec_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["verify", str(spec_file), "--endpoint", "http://127.0.0.1:9", *flags])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith(f"error: {named}"), err


@pytest.mark.parametrize("endpoint", ["ftp://host", "http://", "://x"])
def test_a_non_http_endpoint_exits_2(endpoint: str, spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", str(spec_file), "--endpoint", endpoint])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: --endpoint:") and "http(s) URL" in err, err


def test_a_spec_without_endpoint_or_stack_exits_2(spec_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", str(spec_file)])
    _, err = capsys.readouterr()
    assert code == 2 and "--endpoint: '<missing>'" in err


def test_neither_spec_nor_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--endpoint", "http://127.0.0.1:9"])
    _, err = capsys.readouterr()
    assert code == 2 and "give a SPEC file" in err


def test_a_bad_spec_exits_2_naming_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodel: {id: llama-3.1-8b}\ntraffic: {peak_requests_per_s: 1, avg_requests_per_s: 2}\n")
    code = main(["verify", str(bad), "--endpoint", "http://127.0.0.1:9"])
    _, err = capsys.readouterr()
    assert code == 2 and "traffic.avg_requests_per_s" in err and "Traceback" not in err


def test_a_stack_without_endpoint_and_without_pulumi_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` on it
    code = main(["verify", "-s", "prod", "-C", str(tmp_path)])
    _, err = capsys.readouterr()
    assert code == 2 and "Pulumi CLI is not installed" in err and "--endpoint" in err, err


def test_a_missing_stack_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    code = main(["verify", "-s", "qa", "-C", str(tmp_path), "--endpoint", "http://127.0.0.1:9"])
    _, err = capsys.readouterr()
    assert code == 2 and "no stack file for -s qa" in err


@pytest.mark.parametrize(("given", "api", "url", "used"), [
    ("http://h:8000", "completions", "http://h:8000/v1/completions", "completions"),
    ("http://h:8000/", "chat", "http://h:8000/v1/chat/completions", "chat"),
    ("https://h/v1", "completions", "https://h/v1/completions", "completions"),
    ("h.example.com", "completions", "http://h.example.com/v1/completions", "completions"),
    ("http://h/prefix/v1/chat/completions", "completions", "http://h/prefix/v1/chat/completions", "chat"),
])
def test_endpoint_url(given: str, api: str, url: str, used: str) -> None:
    assert endpoint_url(given, api) == (url, used)  # type: ignore[arg-type]


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([3.0], 99) == 3.0


def test_arrivals_are_poisson_at_the_rate() -> None:
    times = arrival_times(50.0, 200.0, seed=1)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) == pytest.approx(50 * 200, rel=0.03)
    # Exponential gaps: the standard deviation equals the mean.
    assert statistics.pstdev(gaps) == pytest.approx(statistics.fmean(gaps), rel=0.05)


def test_prompts_have_the_word_count_and_differ() -> None:
    assert len(make_prompt(1500, seed=3).split()) == 1500
    assert make_prompt(50, seed=1) != make_prompt(50, seed=2)


def test_plan_does_not_import_httpx() -> None:
    probe = ("import sys; from servestack.cli import main; "
             f"code = main(['plan', {str(ROOT / 'examples' / 'chat-70b.yaml')!r}, '--json']); "
             "print('HTTPX' if 'httpx' in sys.modules else 'CLEAN', file=sys.stderr); sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr.strip().endswith("CLEAN"), proc.stderr
