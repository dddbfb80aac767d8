"""The shipped GitHub Actions workflows parse, and every servestack command in them is a real verb and flag."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
TEMPLATES = ROOT / "ci-templates"
NAMES = ("servestack-check.yml", "servestack-policy-preview.yml")


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _run_lines(doc: dict[Any, Any]) -> list[str]:
    lines = []
    for job in doc["jobs"].values():
        for step in job["steps"]:
            lines += [ln.strip() for ln in str(step.get("run", "")).splitlines()]
    return lines


def _servestack_invocations(doc: dict[Any, Any]) -> list[list[str]]:
    calls = []
    for ln in _run_lines(doc):
        m = re.search(r"\bservestack (check|cost)\b[^|>;]*", ln)
        if m:
            text = re.sub(r"\$\{\{[^}]*\}\}", "X", m.group(0))
            text = re.sub(r'"?\$\w+"?', "X", text)
            calls.append(shlex.split(text.split("||")[0])[1:])
    return calls


@pytest.mark.parametrize("name", NAMES)
def test_template_copies_match_the_shipped_workflows(name: str) -> None:
    assert (TEMPLATES / name).read_text() == (WORKFLOWS / name).read_text()


def test_check_workflow_runs_on_stack_changes_and_uses_real_cli_verbs() -> None:
    doc = _load(WORKFLOWS / "servestack-check.yml")
    triggers = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads the key `on` as boolean true
    assert triggers["pull_request"]["paths"] == ["stacks/**"]
    calls = _servestack_invocations(doc)
    assert {c[0] for c in calls} == {"check", "cost"}
    parser = build_parser()
    for argv in calls:
        args = parser.parse_args(argv)  # exits (SystemExit) on an unknown verb or flag
        assert isinstance(args, argparse.Namespace)
    assert any(c[:2] == ["cost", "diff"] and "--markdown" in c and "--base" in c for c in calls)
    assert any(c[0] == "check" and "--json" in c for c in calls)
    checkout = next(s for s in doc["jobs"]["check"]["steps"] if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be in the clone
    assert any("gh pr comment" in ln for ln in _run_lines(doc))


def test_policy_preview_workflow_passes_both_packs_to_pulumi() -> None:
    doc = _load(WORKFLOWS / "servestack-policy-preview.yml")
    steps = doc["jobs"]["preview"]["steps"]
    pulumi = next(s for s in steps if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    packs = str(pulumi["with"]["policyPacks"])
    assert "steps.packs.outputs.budget" in packs and "steps.packs.outputs.guardrails" in packs
    assert "PULUMI_ACCESS_TOKEN" in pulumi["env"]
    locate = next(s for s in steps if s.get("id") == "packs")
    assert "servestack.check.packs import find_pack" in locate["run"]
