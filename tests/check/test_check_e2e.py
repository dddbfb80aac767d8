"""End to end over the real budget and guardrails packs, each started as the Pulumi CLI starts it.

Runs against servestack's own committed program and stacks (repository root) and against a platform
team's hand-written program that uses only pulumi-aws (fixtures/platform), with no cloud credentials.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from servestack.check import CheckResult, default_pack_dirs, run_check

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def _stacks() -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the repository's program and stacks, so tests may edit stack files."""
    dest = tmp_path / "project"
    dest.mkdir()
    for name in ("Pulumi.yaml", "__main__.py", "requirements.txt"):
        if (ROOT / name).is_file():
            shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "stacks", dest / "stacks")
    return dest


def _edit_stack(project: Path, stack: str, key: str, value: object) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["config"][key] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _stack_config(stack: str) -> dict[str, object]:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    config = doc["config"]
    assert isinstance(config, dict)
    return config


def _packs() -> list[Path]:
    return [ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"]


def _mandatory(result: CheckResult) -> set[tuple[str, str]]:
    return {(v.pack, v.policy) for v in result.mandatory}


@pytest.mark.parametrize("stack", _stacks())
def test_committed_stack_passes_and_costs_match_catalog_prices(project: Path, stack: str) -> None:
    from servestack.catalog import load_catalog
    from servestack.catalog.platform import platform_monthly_usd

    result = run_check(project, stack, packs=_packs())
    assert result.passed, [v.to_json() for v in result.mandatory]
    dep = _stack_config(stack)["servestack:deployment"]
    assert isinstance(dep, dict)
    offering = load_catalog().find_offering(str(dep["cloud"]), str(dep["region"]), str(dep["instanceType"]))
    assert offering is not None
    base_nodes, peak = int(dep["nodesMin"]), int(dep["nodesPeak"])
    hourly_base = offering.price(dep["pricingBase"])
    hourly_burst = offering.price(dep["pricingBurst"])
    assert hourly_base is not None and hourly_burst is not None
    gpu_ceiling = 730 * (base_nodes * hourly_base + (peak - base_nodes) * hourly_burst)
    # GPU root volumes carry the plan's gp3 throughput/IOPS (priced above the free baseline on AWS).
    platform = platform_monthly_usd(
        str(dep["cloud"]), int(dep["zones"]), peak, int(dep["rootVolumeGib"]),
        int(dep.get("rootVolumeThroughputMibps", 0)), int(dep.get("rootVolumeIops", 0)),
    )
    assert result.costs.ceiling == pytest.approx(gpu_ceiling + platform, rel=1e-9, abs=1e-6)
    budget = _stack_config(stack).get("servestack:budgetMonthlyUsd")
    assert result.budget_usd == (float(budget) if budget is not None else None)  # type: ignore[arg-type]


def test_lowered_budget_fails_the_budget_policy(project: Path) -> None:
    stack = _stacks()[0]
    _edit_stack(project, stack, "servestack:budgetMonthlyUsd", 1)
    result = run_check(project, stack, packs=_packs())
    assert ("servestack-budget", "budget-monthly-ceiling") in _mandatory(result)
    assert result.budget_usd == 1


def test_denied_accelerator_fails_allowed_accelerators(project: Path, tmp_path: Path) -> None:
    stack = _stacks()[0]
    dep = _stack_config(stack)["servestack:deployment"]
    assert isinstance(dep, dict)
    others = [a for a in ("H100", "A100-80GB", "L4", "L40S", "A10G") if a != dep["accelerator"]]
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"allowed-accelerators": {"accelerators": others}}))
    result = run_check(project, stack, cfg, packs=_packs())
    assert any(p == "allowed-accelerators" for _, p in _mandatory(result))


def test_platform_program_with_mutable_registry_fails_the_guardrail(tmp_path: Path) -> None:
    project = tmp_path / "platform"
    shutil.copytree(FIXTURES / "platform", project)
    ok = run_check(project, "dev", packs=_packs())
    assert not any(v.pack == "servestack-guardrails" and "ecr" in v.policy for v in ok.violations)
    (project / "Pulumi.dev.yaml").write_text("config:\n  aws:region: us-east-1\n  platform:tagMutability: MUTABLE\n")
    bad = run_check(project, "dev", packs=_packs())
    hits = [v for v in bad.mandatory if v.pack == "servestack-guardrails" and "ecr" in v.policy]
    assert hits and all(v.urn and v.urn.endswith("::models") for v in hits)


def test_packs_found_for_a_project_that_does_not_vendor_them(tmp_path: Path) -> None:
    dirs = default_pack_dirs(tmp_path)
    assert [d.name for d in dirs] == ["budget", "guardrails"]
    assert all((d / "PulumiPolicy.yaml").is_file() for d in dirs)


def test_committed_stacks_exist() -> None:
    assert {"dev", "prod"} <= set(_stacks())


def test_same_stack_with_a_mutable_registry_fails_the_registry_guardrail(project: Path) -> None:
    from servestack.preview import PreviewResult, run_preview

    def preview_with_mutable_registry(directory: Path, stack: str | None) -> PreviewResult:
        result = run_preview(directory, stack)
        resources = [
            replace(r, inputs={**r.inputs, "imageTagMutability": "MUTABLE"},
                    wire_inputs={**(r.wire_inputs or {}), "imageTagMutability": "MUTABLE"})
            if r.type == "aws:ecr/repository:Repository" else r
            for r in result.resources
        ]
        return replace(result, resources=resources, costs=None)  # re-priced from the edited graph

    aws_stack = next(s for s in _stacks() if _stack_config(s)["servestack:deployment"]["cloud"] == "aws")  # type: ignore[index]
    assert run_check(project, aws_stack, packs=_packs()).passed
    result = run_check(project, aws_stack, packs=_packs(), preview=preview_with_mutable_registry)
    hits = [v for v in result.mandatory if v.policy == "aws-ecr-repository-immutable-tags"]
    assert len(hits) == 1 and "IMMUTABLE" in hits[0].message, [v.to_json() for v in result.violations]
