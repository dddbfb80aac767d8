"""The two packs: pinned rule ids and levels, CrossGuard assembly, and servestack's own stacks passing."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from servestack.costing.resources import as_resources
from servestack.policies import BUDGET, GUARDRAILS, RULES, ResourceRule
from servestack.policies.adapter import build_policies
from tests.costing.graphs import Plan, aws_stack, gcp_stack
from tests.policies.helpers import run, stack

PACK_DIRS = Path(__file__).resolve().parents[2] / "policies"


def test_pack_rule_ids_and_levels_are_pinned() -> None:
    def table(spec: Any) -> list[tuple[str, str, str]]:
        return [(rule.id, rule.name, level) for rule, level in spec.rules()]

    assert table(BUDGET) == [
        ("SSB001", "budget-monthly-ceiling", "mandatory"),
        ("SSB002", "budget-monthly-warning", "advisory"),
        ("SSB005", "budget-unpriced-resources", "mandatory"),
        ("SSB003", "max-accelerators", "advisory"),
        ("SSB004", "dev-spot-only", "advisory"),
    ]
    assert table(GUARDRAILS) == [
        ("SSG001", "allowed-accelerators", "mandatory"),
        ("SSG003", "aws-ecr-repository-immutable-scanned-encrypted", "mandatory"),
        ("SSG004", "gcp-artifact-registry-immutable-scanned", "mandatory"),
        ("SSG005", "aws-launch-template-imdsv2-encrypted-private", "mandatory"),
        ("SSG006", "aws-eks-node-group-private-subnets", "mandatory"),
        ("SSG007", "gcp-gke-cluster-private-nodes", "mandatory"),
        ("SSG008", "gcp-gke-node-pool-metadata-private", "mandatory"),
        ("SSG009", "kubernetes-load-balancer-internal-or-tls", "mandatory"),
        ("SSG002", "cost-allocation-tags", "advisory"),
        ("SSG010", "kubernetes-image-pinned-tag", "advisory"),
        ("SSG011", "kubernetes-model-server-gpu-limits-probes", "advisory"),
        ("SSG012", "kubernetes-model-server-pdb", "advisory"),
        ("SSG013", "autoscaler-explicit-max", "advisory"),
    ]
    # Every registered rule belongs to a pack.
    assert {r.name for r in RULES} == {n for spec in (BUDGET, GUARDRAILS) for n, _ in spec.levels}


@pytest.mark.parametrize("spec", [BUDGET, GUARDRAILS], ids=lambda s: s.directory)
def test_pack_main_assembles_policy_pack(spec: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}

    def fake_pack(**kwargs: Any) -> None:  # PolicyPack would start a gRPC server and block
        captured.update(kwargs)

    monkeypatch.setattr("pulumi_policy.PolicyPack", fake_pack)
    directory = PACK_DIRS / spec.directory
    runpy.run_path(str(directory / "__main__.py"), run_name="__main__")
    assert captured["name"] == spec.name
    assert [(p.name, p.enforcement_level) for p in captured["policies"]] == [
        (name, EnforcementLevel(level)) for name, level in spec.levels]
    assert "runtime:" in (directory / "PulumiPolicy.yaml").read_text()
    assert "pulumi-policy>=1.13,<2" in (directory / "requirements.txt").read_text()


def test_policies_register_with_the_analyzer() -> None:
    policies = build_policies(BUDGET) + build_policies(GUARDRAILS)
    servicer = _PolicyAnalyzerServicer("servestack", "0.1.0", policies, EnforcementLevel.ADVISORY)
    info = servicer.GetAnalyzerInfo(None, None)  # type: ignore[no-untyped-call]
    names = {p.name: p for p in info.policies}
    assert "monthlyBudgetUsd" in names["budget-monthly-ceiling"].configSchema.properties
    assert "accelerators" in names["allowed-accelerators"].configSchema.properties
    kinds = {p.name: type(p) for p in policies}
    for rule in RULES:
        assert kinds[rule.name] is (ResourceValidationPolicy if isinstance(rule, ResourceRule)
                                    else StackValidationPolicy)


@pytest.mark.parametrize(
    ("graph", "settings"),
    [
        (aws_stack(Plan()), stack(budget=10**6)),
        (aws_stack(Plan(environment="dev", pricing_base="spot", pricing_burst="spot")),
         stack(environment="dev", budget=10**6)),
        (gcp_stack(Plan(cloud="gcp", region="us-central1", instance_type="g2-standard-8")),
         stack(cloud="gcp", accelerator="L4", instance_type="g2-standard-8", region="us-central1", budget=10**6)),
    ],
    ids=["aws-prod", "aws-dev", "gcp-prod"],
)
def test_servestack_shaped_stacks_pass_both_packs(graph: list, settings: Any) -> None:  # type: ignore[type-arg]
    resources = as_resources(graph)
    failures = []
    for spec in (BUDGET, GUARDRAILS):
        for rule, _level in spec.rules():
            if isinstance(rule, ResourceRule):
                outcomes = [(r.name, run(rule, r, settings=settings)) for r in resources if rule.applies_to(r.type)]
            else:
                outcomes = [("stack", run(rule, resources, settings=settings))]
            failures += [(rule.name, name, o.texts) for name, o in outcomes if o.violated]
    assert failures == []


def test_repository_pack_directories_are_the_generated_files() -> None:
    from servestack.policies.pack_files import REPO_REQUIREMENT, pack_files
    from servestack.policies.packs import BUDGET, GUARDRAILS

    root = Path(__file__).resolve().parents[2] / "policies"
    for spec in (BUDGET, GUARDRAILS):
        for name, text in pack_files(spec, REPO_REQUIREMENT).items():
            assert (root / spec.directory / name).read_text() == text, f"policies/{spec.directory}/{name}"


def test_materialized_pack_pins_the_installed_release(tmp_path: Path) -> None:
    from servestack import __version__
    from servestack.policies.pack_files import materialize_pack
    from servestack.policies.packs import BUDGET

    directory = materialize_pack(BUDGET, tmp_path)
    assert (directory / "PulumiPolicy.yaml").is_file()
    assert f"servestack=={__version__}" in (directory / "requirements.txt").read_text()
    before = (directory / "__main__.py").stat().st_mtime_ns
    assert materialize_pack(BUDGET, tmp_path) == directory
    assert (directory / "__main__.py").stat().st_mtime_ns == before
