"""The packs that judge a change come from the installed servestack, never from the change itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from servestack.check import central_pack_dirs, run_check, vendored_pack_notes
from servestack.policies.pack_files import REPO_REQUIREMENT, pack_files
from servestack.policies.packs import BUDGET

ROOT = Path(__file__).resolve().parents[2]

# 28 x p5.48xlarge on demand for 730 h is about $2M/month; the stack's budget is $5k.
_PROGRAM = """
import pulumi
import pulumi_aws as aws

aws.eks.NodeGroup(
    "gpus",
    cluster_name="serving",
    node_role_arn="arn:aws:iam::123456789012:role/nodes",
    subnet_ids=["subnet-1", "subnet-2"],
    instance_types=["p5.48xlarge"],
    capacity_type="ON_DEMAND",
    scaling_config={"min_size": 28, "desired_size": 28, "max_size": 28},
    tags={"team": "ml", "owner": "ml", "environment": "prod", "cost-center": "ml"},
)
"""

_NO_OP_PACK = """
from pulumi_policy import EnforcementLevel, PolicyPack, StackValidationPolicy

PolicyPack(
    name="servestack-budget",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[StackValidationPolicy(name="budget-monthly-ceiling", description="always within budget",
                                    validate=lambda args, report_violation: None)],
)
"""


@pytest.fixture()
def expensive(tmp_path: Path) -> Path:
    project = tmp_path / "expensive"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: expensive\nruntime: python\n")
    (project / "Pulumi.prod.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  servestack:budgetMonthlyUsd: 5000\n  servestack:environment: prod\n"
    )
    (project / "__main__.py").write_text(textwrap.dedent(_PROGRAM))
    pack = project / "policies" / "budget"
    pack.mkdir(parents=True)
    (pack / "PulumiPolicy.yaml").write_text("description: budget\nversion: 0.1.0\nruntime: python\n")
    (pack / "__main__.py").write_text(textwrap.dedent(_NO_OP_PACK))
    (pack / "requirements.txt").write_text("pulumi-policy\n")
    return project


def test_a_project_cannot_replace_the_budget_pack_with_a_no_op(expensive: Path) -> None:
    result = run_check(expensive, "prod")
    assert not result.passed
    assert ("servestack-budget", "budget-monthly-ceiling") in {(v.pack, v.policy) for v in result.mandatory}
    assert result.costs.ceiling is not None and result.costs.ceiling > 1_000_000
    assert [(p.name, p.source) for p in result.packs] == [
        ("servestack-budget", "central"), ("servestack-guardrails", "central")
    ]
    doc = result.to_json()
    assert any("policies/budget" in n and "differs" in n for n in doc["notes"]), doc["notes"]


def test_a_named_project_pack_runs_in_addition_to_the_central_ones(expensive: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "check", "-C", str(expensive), "-s", "prod", "--json",
         "--policy-pack", str(expensive / "policies" / "budget")],
        capture_output=True, text=True, check=False, timeout=240,
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(p["name"], p["source"]) for p in doc["packs"]] == [
        ("servestack-budget", "central"), ("servestack-guardrails", "central"), ("servestack-budget", "project")
    ]
    assert any(v["policy"] == "budget-monthly-ceiling" and v["enforcement"] == "mandatory" for v in doc["violations"])


def test_central_packs_are_generated_from_the_installed_code(tmp_path: Path) -> None:
    dirs = central_pack_dirs(tmp_path)
    assert [d.name for d in dirs] == ["budget", "guardrails"]
    for d in dirs:
        assert (d / "PulumiPolicy.yaml").is_file() and "from servestack.policies" in (d / "__main__.py").read_text()


def test_a_faithful_vendored_copy_is_not_reported(tmp_path: Path) -> None:
    assert vendored_pack_notes(ROOT) == []  # the repository's own copies are the installed packs
    pack = tmp_path / "policies" / "budget"
    pack.mkdir(parents=True)
    for name, text in pack_files(BUDGET, REPO_REQUIREMENT).items():
        (pack / name).write_text(text)
    (pack / "__pycache__").mkdir()
    assert vendored_pack_notes(tmp_path) == []
    (pack / "__main__.py").write_text("# emptied\n")
    notes = vendored_pack_notes(tmp_path)
    assert len(notes) == 1 and "__main__.py" in notes[0] and "--policy-pack policies/budget" in notes[0]


def test_the_repository_packs_are_still_where_the_cli_takes_them(tmp_path: Path) -> None:
    from servestack.check.packs import find_pack

    shutil.copytree(ROOT / "policies" / "budget", tmp_path / "policies" / "budget")
    (tmp_path / "policies" / "budget" / "__main__.py").write_text("# a project's own copy\n")
    # The project's directory is not consulted: the installed servestack's pack is.
    assert find_pack(tmp_path, "budget") != tmp_path / "policies" / "budget"
