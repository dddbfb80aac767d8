"""verify -s ENV reads the written stack; --write-measured writes a spec that `servestack plan` re-plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI

from servestack.cli import main
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--rate", "25", "--duration", "1.0", "--warmup", "0.3", "--timeout", "5"]


def project(tmp_path: Path) -> Path:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    return tmp_path


def planned_stack(spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    """`plan --write` the spec into a fresh project, as a team would before deploying."""
    proj = project(tmp_path / "proj")
    assert main(["plan", str(spec), "--env", "dev", "--write", "-C", str(proj)]) == 0
    capsys.readouterr()
    config = yaml.safe_load((proj / "stacks" / "Pulumi.dev.yaml").read_text())["config"]
    return proj, config


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["verify", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


def test_stack_alone_gives_traffic_slo_and_served_model_name(
    fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj = project(tmp_path)
    config = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    config["config"]["servestack:workload"]["traffic"].update(avgInputTokens=30, avgOutputTokens=6)
    config["config"]["servestack:workload"]["slo"] = {"ttftMsP95": 1234, "tpotMsP95": 50}
    (proj / "stacks" / "Pulumi.prod.yaml").write_text(yaml.safe_dump(config))
    code, doc, _ = run_json(capsys, "-s", "prod", "-C", str(proj), "--endpoint", fake.base_url, *FAST)
    assert code == 0, doc
    body = fake.bodies[0]
    assert body["model"] == "chat-70b" and body["max_tokens"] == 6 and len(body["prompt"].split()) == 30
    assert doc["slo"]["ttft_ms_p95"]["target"] == 1234
    assert "matching the stack's deployment" in doc["predicted"]["source"]
    deployment = config["config"]["servestack:deployment"]
    assert f"{deployment['accelerator']} TP{deployment['tensorParallel']}" in doc["predicted"]["source"]


def test_write_measured_replaces_the_model_source_and_replans(
    fake: FakeOpenAI, spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proj, config = planned_stack(spec_file, tmp_path, capsys)
    deployment = config["servestack:deployment"]
    out = tmp_path / "measured.yaml"
    code, doc, _ = run_json(capsys, str(spec_file), "-s", "dev", "-C", str(proj), "--endpoint", fake.base_url,
                            *FAST, "--write-measured", str(out))
    assert code == 0
    written = load_spec(out)
    original = load_spec(spec_file)
    assert written.model.id is None and written.model.measured is not None
    assert written.model.checkpoint == deployment["serving"]["checkpoint"]
    assert written.model.precision == original.model.precision
    (point,) = written.model.measured.throughput
    assert point.accelerator == deployment["accelerator"]
    assert point.accelerators_per_replica == deployment["tensorParallel"] * deployment["nodesPerReplica"]
    assert point.requests_per_s == pytest.approx(doc["requests_per_s"] / deployment["replicasMin"], rel=1e-3)
    assert point.latency_ms_p95 == pytest.approx(doc["latency_ms"]["p95"], abs=0.1)
    assert written.model.measured.memory_gib == pytest.approx(config["servestack:workload"]["model"]["weightsGib"])
    assert (written.traffic, written.slo, written.availability) == (original.traffic, original.slo,
                                                                    original.availability)
    assert out.read_text().startswith("# model.measured from `servestack verify`")
    assert "# a test spec\n" in out.read_text(), "the spec's own comments are kept"
    # The measured spec plans: a figure for the measured accelerator, nothing else.
    assert main(["plan", str(out), "--json"]) == 0
    plan = json.loads(capsys.readouterr()[0])
    assert {c["accelerator"] for c in plan["candidates"]} == {deployment["accelerator"]}


def test_write_measured_never_overwrites_without_force(
    fake: FakeOpenAI, spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "measured.yaml"
    out.write_text("keep me\n")
    flags = ["--accelerator", "l4", "--count", "1", "--replicas", "2"]
    code, _, err = run_json(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST, "--write-measured", str(out),
                            *flags)
    assert code == 2 and "exists; pass --force" in err and out.read_text() == "keep me\n"
    assert fake.bodies == [], "refused before any load was sent"
    code, doc, _ = run_json(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST, "--write-measured", str(out),
                            *flags, "--force")
    assert code == 0
    (point,) = load_spec(out).model.measured.throughput  # type: ignore[union-attr]
    assert point.accelerator == "L4" and point.requests_per_s == pytest.approx(doc["requests_per_s"] / 2, rel=1e-3)


def test_write_measured_without_a_stack_needs_the_layout_flags(
    fake: FakeOpenAI, spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_json(capsys, str(spec_file), "--endpoint", fake.base_url, *FAST,
                            "--write-measured", str(tmp_path / "m.yaml"))
    assert code == 2 and err.startswith("error: --accelerator: None") and fake.bodies == []


@pytest.mark.parametrize("model", [
    "{id: gpt-j-6b, precision: fp8}",
    "{id: gpt-j-6b, precision: fp8, checkpoint: acme/gpt-j-6b, checkpoint_precision: bf16}",
])
def test_write_measured_refuses_a_release_quantized_on_load(
    model: str, fake: FakeOpenAI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GPT-J 6B at fp8 is served by quantizing a 16-bit release as it loads (its own, or one the spec names as
    # 16-bit); a measured spec has no id to know that from, so it must name an fp8 release itself.
    spec = tmp_path / "fp8.yaml"
    spec.write_text(f"name: fp8-6b\nmodel: {model}\n"
                    "traffic: {peak_requests_per_s: 40, avg_requests_per_s: 20, avg_input_tokens: 20, "
                    "avg_output_tokens: 4}\n")
    code, _, err = run_json(capsys, str(spec), "--endpoint", fake.base_url, *FAST, "--write-measured",
                            str(tmp_path / "m.yaml"), "--accelerator", "L4", "--count", "1", "--replicas", "1")
    assert code == 2 and err.startswith("error: model.checkpoint:") and "quantized to fp8 on load" in err, err
