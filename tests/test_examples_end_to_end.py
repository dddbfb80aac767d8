"""Every example, end to end: plan --write into a fresh project, then the offline preview costs exactly
what the plan said, and both policy packs pass the stack servestack wrote."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from servestack.check import run_check
from servestack.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_example_plans_deploys_and_passes_policies(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    stack = example.stem
    code = main(["plan", str(example), "--env", stack, "--write", "-C", str(tmp_path), "--gcp-project", "proj-e2e",
                 "--api-cidr", "203.0.113.0/24", "--hf-token-secret", "servestack/hf-token",
                 "--commitment-purchased", "--json"])
    chosen = yaml.safe_load(capsys.readouterr().out)["chosen"]
    assert code == 0
    spec = yaml.safe_load(example.read_text())

    result = run_check(tmp_path, stack, packs=[ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"])

    assert result.passed, [v.to_json() for v in result.mandatory]
    # The only advisories allowed are the budget pack's true statements about the plan: a stack that peaks
    # above the default cap of 64 accelerators, and a ceiling above 80 % of the budget (the default warning
    # share). No guardrail advisory: what servestack generates meets the restricted bar too.
    accelerators_at_peak = chosen["nodes_peak"] * chosen["accelerators_per_node"]
    expected_advisories = {"max-accelerators"} if accelerators_at_peak > 64 else set()
    if chosen["monthly_usd_ceiling"] > 0.8 * spec["budget"]["monthly_usd"]:
        expected_advisories.add("budget-monthly-warning")
    assert {v.policy for v in result.violations} == expected_advisories, [v.to_json() for v in result.violations]
    assert result.costs.expected == pytest.approx(chosen["monthly_usd_expected"], abs=0.01)
    assert result.costs.ceiling == pytest.approx(chosen["monthly_usd_ceiling"], abs=0.01)
    assert result.budget_usd == spec["budget"]["monthly_usd"]
