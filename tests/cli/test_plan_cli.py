"""`servestack plan` end to end: every example plans, bad input exits 2 with a message, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servestack.catalog import load_catalog
from servestack.cli import main
from servestack.cli.plan_cmd import environment_kind

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def run_plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["plan", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_plans_within_budget(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(example), "--json")
    assert code == 0
    doc = json.loads(out)
    spec = yaml.safe_load(example.read_text())
    assert doc["feasible"] and doc["chosen"] == doc["candidates"][0]
    assert doc["chosen"]["monthly_usd_ceiling"] <= spec["budget"]["monthly_usd"]
    catalog = load_catalog()
    assert {k: doc["catalog"][k] for k in ("as_of", "offerings")} == {
        "as_of": catalog.as_of, "offerings": len(catalog.offerings)
    }
    assert doc["catalog"]["source"] in ("bundled", "cache") and doc["catalog"]["path"]
    chosen = doc["chosen"]
    offering = catalog.find_offering(chosen["cloud"], chosen["region"], chosen["instance_type"])
    assert offering is not None and offering.accelerator == chosen["accelerator"]


def test_405b_in_bf16_spans_nodes_over_a_multi_node_fabric(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(ROOT / "examples" / "llama-405b.yaml"), "--json")
    chosen = json.loads(out)["chosen"]
    assert code == 0 and chosen["nodes_per_replica"] >= 2
    offering = load_catalog().find_offering(chosen["cloud"], chosen["region"], chosen["instance_type"])
    assert offering is not None and offering.multi_node_network is not None


def test_table_output_names_the_chosen_stack(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(ROOT / "examples" / "chat-70b.yaml"))
    assert code == 0 and "chosen:" in out and "rejected alternatives" in out


def test_infeasible_budget_exits_1_with_the_constraint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = yaml.safe_load((ROOT / "examples" / "chat-70b.yaml").read_text())
    spec["budget"]["monthly_usd"] = 100
    path = tmp_path / "tight.yaml"
    path.write_text(yaml.safe_dump(spec))
    code, out, _ = run_plan(capsys, str(path))
    assert code == 1 and "over_budget" in out and "raise budget.monthly_usd" in out


def test_unknown_accelerator_exits_2_with_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = yaml.safe_load((ROOT / "examples" / "chat-70b.yaml").read_text())
    spec["placement"]["accelerators_allowed"] = ["H1000"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    code, _, err = run_plan(capsys, str(path))
    assert code == 2 and "placement.accelerators_allowed[0]" in err and "did you mean" in err


@pytest.mark.parametrize(("env", "kind", "expected"), [
    ("dev", None, "dev"), ("dev-alice", None, "dev"), ("staging-eu", None, "staging"), ("prod", None, "prod"),
    ("canary", None, "prod"), ("canary", "staging", "staging"),
])
def test_environment_kind_from_name(env: str, kind: str | None, expected: str) -> None:
    assert environment_kind(env, kind) == expected


def test_console_script_runs_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "plan", str(ROOT / "examples" / "nope.yaml")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "does not exist" in proc.stderr


# Random specs: a mixture of valid values and the kinds of mistakes people make.
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 100_000), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.text(max_size=6), max_size=3),
)


@st.composite
def random_specs(draw: Any) -> dict[str, Any]:
    base = yaml.safe_load((ROOT / "examples" / draw(st.sampled_from([p.name for p in EXAMPLES]))).read_text())
    for _ in range(draw(st.integers(0, 3))):
        section = draw(st.sampled_from(sorted(base)))
        if isinstance(base[section], dict) and base[section] and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(base[section]) + ["unknown_key"]))
            base[section][key] = draw(_values)
        else:
            base[section] = draw(_values)
    return base


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=random_specs())
def test_random_specs_exit_0_1_or_2_never_a_traceback(
    spec: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    code = main(["plan", str(path), "--json"])  # an exception here fails the test: that is the point
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    if code == 2:
        assert err.startswith("error: ") and " is not valid; " in err
    else:
        doc = json.loads(out)
        assert doc["feasible"] is (code == 0)
        if code == 1:
            assert doc["binding_constraint"] in doc["rejected"]


def test_write_creates_merges_and_protects_edits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    example = str(ROOT / "examples" / "summarize-8b.yaml")
    code, out, _ = run_plan(capsys, example, "--env", "dev-alice", "--write", "-C", str(tmp_path))
    stack_file = tmp_path / "stacks" / "Pulumi.dev-alice.yaml"
    assert code == 0 and "created" in out
    config = yaml.safe_load(stack_file.read_text())["config"]
    assert config["servestack:environment"] == "dev"
    assert config["servestack:tags"] == {"team": "docs-ai", "cost-center": "cc-4200"}

    # A person edits an owned value and adds a key of their own.
    text = stack_file.read_text().replace("servestack:budgetMonthlyUsd: 40000", "servestack:budgetMonthlyUsd: 45000")
    stack_file.write_text(text + "  team:oncall: alice\n")
    code, _, err = run_plan(capsys, example, "--env", "dev-alice", "--write", "-C", str(tmp_path))
    assert code == 1 and "servestack:budgetMonthlyUsd" in err
    assert "45000" in stack_file.read_text()

    code, _, _ = run_plan(capsys, example, "--env", "dev-alice", "--write", "--force", "-C", str(tmp_path))
    config = yaml.safe_load(stack_file.read_text())["config"]
    assert code == 0 and config["servestack:budgetMonthlyUsd"] == 40000 and config["team:oncall"] == "alice"


def test_replan_without_gcp_project_keeps_the_project_already_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    # Pinned to GCP: which cloud the example itself picks depends on the catalog's prices.
    spec = (ROOT / "examples" / "dev-7b-spot.yaml").read_text().replace(
        "placement: {clouds: [aws, gcp], regions: [us-east-1, us-central1]}",
        "placement: {clouds: [gcp], regions: [us-central1]}",
    )
    assert "clouds: [gcp]" in spec
    (tmp_path / "dev-gcp.yaml").write_text(spec)
    example = str(tmp_path / "dev-gcp.yaml")
    code, _, _ = run_plan(capsys, example, "--env", "dev", "--write", "--gcp-project", "acme-ml-dev",
                          "-C", str(tmp_path))
    stack_file = tmp_path / "stacks" / "Pulumi.dev.yaml"
    assert code == 0 and yaml.safe_load(stack_file.read_text())["config"]["servestack:deployment"]["cloud"] == "gcp"

    code, out, _ = run_plan(capsys, example, "--env", "dev", "--write", "-C", str(tmp_path))
    assert code == 0 and "removed" not in out and "set the GCP project" not in out
    assert yaml.safe_load(stack_file.read_text())["config"]["gcp:project"] == "acme-ml-dev"


@pytest.mark.parametrize(("env", "flags", "kind"), [
    ("canary", ["--kind", "staging"], "staging"), ("canary", [], "prod"), ("dev-bob", [], "dev"),
    ("dev-bob", ["--kind", "prod"], "prod"),
])
def test_write_records_the_environment_kind(env: str, flags: list[str], kind: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    example = str(ROOT / "examples" / "summarize-8b.yaml")
    code, _, _ = run_plan(capsys, example, "--env", env, *flags, "--write", "-C", str(tmp_path))
    config = yaml.safe_load((tmp_path / "stacks" / f"Pulumi.{env}.yaml").read_text())["config"]
    assert code == 0 and config["servestack:environment"] == kind


def test_dev_stack_is_planned_under_the_dev_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    # summarize-8b keeps an on-demand floor (spot: allowed): planned as written for prod, on spot for dev.
    example = str(ROOT / "examples" / "summarize-8b.yaml")
    code, out, _ = run_plan(capsys, example, "--env", "dev-bob", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["environment"]["kind"] == "dev"
    assert (doc["chosen"]["pricing_base"], doc["chosen"]["pricing_burst"]) == ("spot", "spot")
    assert any("pricing.spot" in line for line in doc["environment"]["adjustments"])
    code, out, _ = run_plan(capsys, example, "--env", "prod", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["environment"] == {"kind": "prod", "adjustments": []}
    assert doc["chosen"]["pricing_base"] == "on_demand"


def _project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    return tmp_path


def test_write_without_a_known_checkpoint_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "int8.yaml"
    spec.write_text("name: chat\nmodel: {id: llama-2-7b, precision: int8}\n"
                    "traffic: {peak_requests_per_s: 2, avg_requests_per_s: 1}\n")
    code, out, _ = run_plan(capsys, str(spec), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["deployment"] is None and "model.checkpoint" in doc["missing"]
    code, _, err = run_plan(capsys, str(spec), "--env", "prod", "--write", "-C", str(_project(tmp_path)))
    assert code == 2 and err.startswith("error: model.checkpoint:") and "int8" in err
    assert not (tmp_path / "stacks" / "Pulumi.prod.yaml").exists()


def test_plan_json_carries_the_deployment_contract(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_plan(capsys, str(ROOT / "examples" / "chat-70b.yaml"), "--json")
    doc = json.loads(out)
    dep, chosen = doc["deployment"], doc["chosen"]
    assert code == 0
    assert (dep["instanceType"], dep["nodesMin"], dep["nodesPeak"]) == (
        chosen["instance_type"], chosen["nodes_min"], chosen["nodes_peak"])
    assert dep["serving"]["checkpoint"] == "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8"
    # A100 has no fp8: the cache stays 16-bit however the weights are stored.
    if dep["accelerator"].startswith("A100"):
        assert dep["serving"]["kvCacheDtype"] == "auto"
    assert len(dep["zoneNames"]) == dep["zones"]
    if chosen["pricing_base"] in ("1y", "3y"):
        instructions = dep["commitment"]["instructions"]
        assert "Savings Plan" in instructions or "committed use" in instructions


@pytest.mark.parametrize(("flags", "field"), [
    (["--api-cidr", "0.0.0.0/0"], "--api-cidr"),
    (["--api-cidr", "10.0.0.300/8"], "--api-cidr"),
    (["--hf-token-secret", "has space"], "--hf-token-secret"),
    (["--cluster-admin", "alice"], "--cluster-admin"),
])
def test_bad_write_choices_exit_2_naming_the_flag(
    flags: list[str], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = str(ROOT / "examples" / "chat-70b.yaml")
    code, _, err = run_plan(capsys, example, "--env", "prod", "--write", "-C", str(_project(tmp_path)), *flags)
    assert code == 2 and err.startswith(f"error: {field}:"), err


def test_write_without_access_or_secret_says_what_pulumi_up_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = str(ROOT / "examples" / "chat-70b.yaml")
    code, out, _ = run_plan(capsys, example, "--env", "prod", "--write", "-C", str(_project(tmp_path)))
    assert code == 0 and "--api-cidr" in out
    code, out, _ = run_plan(capsys, example, "--env", "prod", "--write", "-C", str(tmp_path),
                            "--api-private", "--hf-token-secret", "ml/hf")
    config = yaml.safe_load((tmp_path / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    assert code == 0 and config["servestack:apiAccess"] == {"mode": "private", "cidrs": []}
    assert config["servestack:hfTokenSecret"] == "ml/hf"
