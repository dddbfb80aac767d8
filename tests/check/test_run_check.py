"""`run_check` and the `check` verb over a hand-written Pulumi program (no servestack import) and the tiny pack."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from servestack.check import run_check
from servestack.cli import main
from servestack.errors import SpecError

FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tinypack"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", dest)
    return dest


def _stack(project: Path, **values: object) -> None:
    # A budget, so the central budget pack (which runs next to --policy-pack) has one to judge against.
    lines = ["config:", "  servestack:budgetMonthlyUsd: 1000"]
    lines += [f"  tiny:{k}: {json.dumps(v)}" for k, v in values.items()]
    (project / "Pulumi.dev.yaml").write_text("\n".join(lines) + "\n")


def test_compliant_stack_passes(project: Path) -> None:
    result = run_check(project, "dev", packs=[TINY])
    assert result.passed and result.violations == []
    doc = result.to_json()
    # The contract's fields, plus the ones added since (never removed).
    assert set(doc) == {
        "stack", "passed", "violations", "monthly_usd", "budget_usd", "showback", "unevaluated", "strict", "packs",
        "notes",
    }
    assert set(doc["monthly_usd"]) == {"expected", "ceiling"}
    assert [(p.name, p.policies) for p in result.packs] == [("tiny", 3)]


def test_public_bucket_fails_with_the_mandatory_policy(project: Path) -> None:
    _stack(project, acl="public-read", buckets=1)
    result = run_check(project, "dev", packs=[TINY])
    assert not result.passed
    assert [(v.policy, v.pack, v.enforcement) for v in result.violations] == [
        ("tiny-no-public-buckets", "tiny", "mandatory")
    ]
    assert result.violations[0].urn is not None and result.violations[0].urn.endswith("Bucket::bucket-0")


def test_stack_rule_is_advisory_unless_configured(project: Path, tmp_path: Path) -> None:
    _stack(project, buckets=3)
    result = run_check(project, "dev", packs=[TINY])
    assert result.passed
    assert [(v.policy, v.enforcement, v.urn) for v in result.violations] == [("tiny-max-buckets", "advisory", None)]
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"tiny-max-buckets": "mandatory"}))
    assert not run_check(project, "dev", cfg, packs=[TINY]).passed


def test_unknown_policy_name_in_config_is_rejected_with_a_hint(project: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"tiny-max-bucket": "mandatory"}))
    with pytest.raises(SpecError, match="did you mean 'tiny-max-buckets'"):
        run_check(project, "dev", cfg, packs=[TINY])


def test_cli_exit_codes_and_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-C", str(project), "-s", "dev", "--policy-pack", str(TINY), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True
    _stack(project, acl="public-read")
    assert main(["check", "-C", str(project), "-s", "dev", "--policy-pack", str(TINY), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False and doc["violations"][0]["policy"] == "tiny-no-public-buckets"
    assert set(doc["violations"][0]) == {"policy", "pack", "enforcement", "urn", "message"}
    assert (doc["violations"][0]["pack"], doc["violations"][0]["enforcement"]) == ("tiny", "mandatory")
    assert main(["check", "-C", str(project), "-s", "dev", "--policy-pack", str(TINY)]) == 1
    out = capsys.readouterr().out
    assert "tiny-no-public-buckets" in out and "FAILED" in out
    assert main(["check", "-C", str(project), "-s", "nope", "--policy-pack", str(TINY)]) == 2
    assert "nope" in capsys.readouterr().err
