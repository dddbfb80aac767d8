"""Generated projects, end to end: every stack of every example's project, and of a two-workload project,
passes `servestack preview` (the program runs offline and costs what the plan said) and `servestack check`
(both policy packs, with the stack's generated policy config)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from servestack.check import run_check
from servestack.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PACKS = [ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"]
# The budget pack's true statements about a plan (see tests/test_examples_end_to_end.py); nothing else.
ALLOWED_ADVISORIES = {"max-accelerators", "budget-monthly-warning"}


def _passes(project: Path, stack: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["preview", "-C", str(project), "-s", stack, "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    readme = (project / "README.md").read_text()
    assert f"**${preview['monthly_usd']['expected']:,.0f}**" in readme, (stack, preview["monthly_usd"])

    result = run_check(project, stack, policy_config_path=project / "policy" / f"{stack}.json", packs=PACKS)
    assert result.passed, [v.to_json() for v in result.mandatory]
    assert {v.policy for v in result.violations} <= ALLOWED_ADVISORIES, [v.to_json() for v in result.violations]


def _stacks(project: Path) -> list[str]:
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (project / "stacks").iterdir())


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_project_passes_preview_and_check(
    example: Path, tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [example]) == 0
    assert _stacks(project) == ["dev", "prod"]
    for stack in _stacks(project):
        _passes(project, stack, capsys)


def test_a_two_workload_project_passes_preview_and_check(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [ROOT / "examples/chat-70b.yaml", ROOT / "examples/summarize-8b.yaml"]) == 0
    stacks = _stacks(project)
    assert stacks == ["dev-chat-70b", "dev-summarize-8b", "prod"]
    # prod: one cluster serving both (the fleet keys); dev: a cluster each (see test_new.py).
    prod = yaml.safe_load((project / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    assert len(prod["servestack:fleet"]["servers"]) == 2
    for stack in stacks:
        _passes(project, stack, capsys)
