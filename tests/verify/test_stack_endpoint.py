"""verify -s ENV takes the endpoint from `pulumi stack output endpoint -s ENV --json`.

A fake `pulumi` executable, first on PATH, answers as the real CLI does (JSON on stdout, or an error on
stderr with a non-zero exit) and records how it was called; the requests go to the fake OpenAI server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI

from servestack.cli import main
from servestack.verify.sources import read_stack, stack_base_url

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--rate", "25", "--duration", "1.0", "--warmup", "0.3", "--timeout", "5"]
MISSING_OUTPUT = "error: current stack does not have output property 'endpoint'"


def project(tmp_path: Path, **config: Any) -> Path:
    """A project holding the committed dev stack with small token counts (fast runs) and extra `config`."""
    proj = tmp_path / "proj"
    (proj / "stacks").mkdir(parents=True)
    (proj / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.dev.yaml").read_text())
    doc["config"]["servestack:workload"]["traffic"].update(avgInputTokens=30, avgOutputTokens=6)
    doc["config"]["servestack:workload"]["slo"] = {"ttftMsP95": 1500, "tpotMsP95": 100}
    doc["config"].update(config)
    (proj / "stacks" / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc))
    return proj


def fake_pulumi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, stdout: str = "", stderr: str = "",
                code: int = 0) -> Path:
    """Put a `pulumi` first on PATH that prints `stdout`/`stderr`, exits `code`; returns the call log path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pulumi-calls.json"
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'cwd': os.getcwd()}) + '\\n')\n"
        f"sys.stdout.write({stdout!r})\n"
        f"sys.stderr.write({stderr!r})\n"
        f"sys.exit({code})\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}")
    return log


def calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["verify", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def test_endpoint_comes_from_the_stack_output(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = project(tmp_path)
    # An internal load balancer's output is a bare host (here with the fake's port): plain HTTP.
    log = fake_pulumi(tmp_path, monkeypatch, stdout=json.dumps(f"127.0.0.1:{fake.port}") + "\n")
    code, doc, err = run(capsys, "-s", "dev", "-C", str(proj), *FAST)
    assert code == 0, err
    assert calls(log) == [{"argv": ["stack", "output", "endpoint", "-s", "dev", "--json"], "cwd": str(proj)}]
    assert fake.bodies and set(fake.paths) == {"/v1/completions"}
    assert fake.bodies[0]["model"] == "dev-7b" and fake.bodies[0]["max_tokens"] == 6
    assert doc["slo"]["ttft_ms_p95"]["target"] == 1500


def test_endpoint_flag_overrides_the_stack_output(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = project(tmp_path)
    log = fake_pulumi(tmp_path, monkeypatch, stdout=json.dumps("10.255.255.1") + "\n")
    code, _, err = run(capsys, "-s", "dev", "-C", str(proj), "--endpoint", fake.base_url, *FAST)
    assert code == 0, err
    assert calls(log) == [], "the CLI is not asked when --endpoint is given"
    assert fake.bodies


@pytest.mark.parametrize(("stdout", "stderr", "code", "message"), [
    ("", MISSING_OUTPUT + "\n", 255, "the stack has no `endpoint` output yet (run `pulumi up -s dev` first)"),
    ('""\n', "", 0, "the stack's `endpoint` output is empty: the load balancer has no address yet"),
    ("null\n", "", 0, "the stack's `endpoint` output is empty"),
    ('{"host": "x"}\n', "", 0, "the stack's `endpoint` output is {'host': 'x'}, not a host name or URL"),
    ("", "error: no stack named 'dev' found\n", 255, "`pulumi stack output endpoint` failed: no stack named 'dev'"),
])
def test_no_usable_endpoint_output_is_bad_input_naming_why(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    stdout: str, stderr: str, code: int, message: str,
) -> None:
    proj = project(tmp_path)
    fake_pulumi(tmp_path, monkeypatch, stdout=stdout, stderr=stderr, code=code)
    exit_code, doc, err = run(capsys, "-s", "dev", "-C", str(proj), *FAST)
    assert exit_code == 2 and doc == {}
    assert message in err and "--endpoint URL" in err, err
    assert "Traceback" not in err and fake.bodies == []


def test_missing_pulumi_cli_is_bad_input(
    fake: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = project(tmp_path)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code, _, err = run(capsys, "-s", "dev", "-C", str(proj), *FAST)
    assert code == 2 and "the Pulumi CLI is not installed here" in err and "--endpoint URL" in err, err
    assert fake.bodies == []


def test_public_stack_is_reached_over_tls(tmp_path: Path) -> None:
    """A public stack's load balancer terminates TLS on 443; an internal one answers plain HTTP on 80."""
    public = read_stack(project(tmp_path / "a", **{"servestack:exposure": "public"}), "dev")
    internal = read_stack(project(tmp_path / "b"), "dev")
    assert stack_base_url(public, "chat.example.com") == "https://chat.example.com"
    assert stack_base_url(internal, "internal-lb.elb.amazonaws.com") == "http://internal-lb.elb.amazonaws.com"
    assert stack_base_url(public, "http://10.0.0.5:8000") == "http://10.0.0.5:8000", "an explicit scheme is kept"


def test_bad_exposure_in_the_stack_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, **{"servestack:exposure": "open"})
    code, _, err = run(capsys, "-s", "dev", "-C", str(proj), "--endpoint", "http://127.0.0.1:9", *FAST)
    assert code == 2 and "servestack:exposure: 'open' is not valid; allowed: internal, public" in err, err
