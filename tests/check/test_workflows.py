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
            text = re.sub(r'"?\$\w+"?', "1", text)  # a shell variable: any value that parses
            calls.append(shlex.split(text.split("||")[0])[1:])
    return calls


@pytest.mark.parametrize("name", NAMES)
def test_template_copies_match_the_shipped_workflows(name: str) -> None:
    assert (TEMPLATES / name).read_text() == (WORKFLOWS / name).read_text()


def _steps(doc: dict[Any, Any], job: str) -> list[dict[Any, Any]]:
    steps = doc["jobs"][job]["steps"]
    assert isinstance(steps, list)
    return steps


def _checkouts(steps: list[dict[Any, Any]]) -> dict[str, dict[Any, Any]]:
    """path -> `with:` of each actions/checkout step."""
    return {
        str(s["with"]["path"]): s["with"]
        for s in steps
        if str(s.get("uses", "")).startswith("actions/checkout")
    }


def _assert_judge_comes_from_base(steps: list[dict[Any, Any]]) -> None:
    checkouts = _checkouts(steps)
    assert set(checkouts) == {"base", "pr"}
    assert "base.sha" in str(checkouts["base"]["ref"])
    assert all(c.get("persist-credentials") is False for c in checkouts.values())
    install = next(s for s in steps if "pip install" in str(s.get("run", "")))
    assert str(install["working-directory"]).startswith("base/")
    for step in steps:
        run = str(step.get("run", ""))
        # Nothing from the pull request's tree is installed, and servestack is never imported from it.
        assert not ("pip install" in run and str(step.get("working-directory", "")).startswith("pr")), step
        assert "python -m servestack" not in run, step


def test_check_workflow_runs_on_every_pull_request_and_uses_real_cli_verbs() -> None:
    doc = _load(WORKFLOWS / "servestack-check.yml")
    triggers = doc[True] if True in doc else doc["on"]  # YAML 1.1 reads the key `on` as boolean true
    assert "pull_request" in triggers and not (triggers["pull_request"] or {}).get("paths")
    calls = _servestack_invocations(doc)
    assert {c[0] for c in calls} == {"check", "cost"}
    parser = build_parser()
    for argv in calls:
        args = parser.parse_args(argv)  # exits (SystemExit) on an unknown verb or flag
        assert isinstance(args, argparse.Namespace)
    assert any(c[:2] == ["cost", "diff"] and "--markdown" in c and "--base" in c for c in calls)
    assert any(c[0] == "check" and "--json" in c and "--timeout" in c for c in calls)
    # No project pack is named: the installed (base branch) packs judge.
    assert not any("--policy-pack" in c for c in calls)
    steps = _steps(doc, "check")
    assert _checkouts(steps)["pr"]["fetch-depth"] == 0  # the base revision must be in the clone
    _assert_judge_comes_from_base(steps)
    check = next(s for s in steps if "servestack check" in str(s.get("run", "")))
    assert str(check["working-directory"]).startswith("pr/")
    assert any("gh pr comment" in ln for ln in _run_lines(doc))


def test_policy_preview_workflow_passes_the_base_branch_packs_to_pulumi() -> None:
    doc = _load(WORKFLOWS / "servestack-policy-preview.yml")
    steps = _steps(doc, "preview")
    pulumi = next(s for s in steps if str(s.get("uses", "")).startswith("pulumi/actions@"))
    assert pulumi["with"]["command"] == "preview"
    assert str(pulumi["with"]["work-dir"]).startswith("pr/")
    packs = str(pulumi["with"]["policyPacks"])
    assert "steps.packs.outputs.budget" in packs and "steps.packs.outputs.guardrails" in packs
    assert "PULUMI_ACCESS_TOKEN" in pulumi["env"]
    locate = next(s for s in steps if s.get("id") == "packs")
    assert "servestack.check.packs import installed_pack_dir" in locate["run"]
    assert "runner.temp" in str(locate["working-directory"])  # not inside either tree
    _assert_judge_comes_from_base(steps)


def test_codeowners_template_protects_what_decides_the_verdict() -> None:
    owned = {
        line.split()[0]
        for line in (TEMPLATES / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {"/.github/workflows/", "/requirements.txt", "/Pulumi.yaml", "/policies/", "/stacks/"} <= owned
