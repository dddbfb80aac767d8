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
from servestack.policies.registry import RETIRED, retired_hint
from tests.costing.graphs import Plan
from tests.policies.fixtures import hardened_aws, hardened_gcp
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
        ("SSG014", "aws-ecr-repository-immutable-tags", "mandatory"),
        ("SSG015", "aws-ecr-repository-scan-on-push", "mandatory"),
        ("SSG016", "aws-ecr-repository-kms-encryption", "mandatory"),
        ("SSG017", "gcp-artifact-registry-immutable-tags", "mandatory"),
        ("SSG018", "gcp-artifact-registry-vulnerability-scanning", "mandatory"),
        ("SSG019", "aws-launch-template-imdsv2", "mandatory"),
        ("SSG020", "aws-launch-template-encrypted-volumes", "mandatory"),
        ("SSG021", "aws-launch-template-no-public-ip", "mandatory"),
        ("SSG029", "aws-eks-cluster-public-api-restricted", "mandatory"),
        ("SSG035", "aws-eks-cluster-multi-subnet", "mandatory"),
        ("SSG036", "aws-eks-cluster-secrets-encryption", "mandatory"),
        ("SSG006", "aws-eks-node-group-private-subnets", "mandatory"),
        ("SSG037", "aws-eks-node-group-no-public-ssh", "mandatory"),
        ("SSG038", "aws-eks-node-group-launch-template", "mandatory"),
        ("SSG051", "aws-alb-http-listener-redirects-https", "mandatory"),
        ("SSG052", "aws-ec2-gpu-instance-no-public-ip", "mandatory"),
        ("SSG053", "aws-ec2-gpu-instance-imdsv2", "mandatory"),
        ("SSG054", "aws-ec2-gpu-instance-encrypted-volumes", "mandatory"),
        ("SSG007", "gcp-gke-cluster-private-nodes", "mandatory"),
        ("SSG030", "gcp-gke-cluster-public-api-restricted", "mandatory"),
        ("SSG039", "gcp-gke-cluster-no-legacy-abac", "mandatory"),
        ("SSG040", "gcp-gke-cluster-workload-identity", "mandatory"),
        ("SSG022", "gcp-gke-node-pool-gke-metadata", "mandatory"),
        ("SSG023", "gcp-gke-node-pool-private-nodes", "mandatory"),
        ("SSG024", "kubernetes-load-balancer-internal", "mandatory"),
        ("SSG025", "kubernetes-load-balancer-tls", "mandatory"),
        ("SSG050", "kubernetes-load-balancer-no-plain-http", "mandatory"),
        ("SSG031", "kubernetes-fp8-kv-cache-supported", "mandatory"),
        ("SSG034", "kubernetes-gpu-workload-await-timeout", "mandatory"),
        ("SSG041", "kubernetes-pss-privileged", "mandatory"),
        ("SSG042", "kubernetes-pss-host-namespaces", "mandatory"),
        ("SSG043", "kubernetes-pss-host-path-volumes", "mandatory"),
        ("SSG044", "kubernetes-pss-capabilities", "mandatory"),
        ("SSG045", "kubernetes-pss-host-ports", "mandatory"),
        ("SSG002", "cost-allocation-tags", "advisory"),
        ("SSG010", "kubernetes-image-pinned-tag", "advisory"),
        ("SSG026", "kubernetes-model-server-gpu-limits", "advisory"),
        ("SSG027", "kubernetes-model-server-readiness-probe", "advisory"),
        ("SSG028", "kubernetes-model-server-liveness-probe", "advisory"),
        ("SSG012", "kubernetes-model-server-pdb", "advisory"),
        ("SSG032", "kubernetes-gpu-pod-cpu-request", "advisory"),
        ("SSG033", "kubernetes-gpu-pod-memory-request", "advisory"),
        ("SSG046", "kubernetes-pss-run-as-non-root", "advisory"),
        ("SSG047", "kubernetes-pss-allow-privilege-escalation", "advisory"),
        ("SSG048", "kubernetes-pss-seccomp-runtime-default", "advisory"),
        ("SSG049", "kubernetes-pss-drop-all-capabilities", "advisory"),
        ("SSG013", "autoscaler-explicit-max", "advisory"),
    ]
    # Every registered rule belongs to a pack.
    assert {r.name for r in RULES} == {n for spec in (BUDGET, GUARDRAILS) for n, _ in spec.levels}


def test_retired_ids_and_names_are_never_reused() -> None:
    live_ids = {r.id for r in RULES}
    live_names = {r.name for r in RULES}
    assert not live_ids & set(RETIRED)
    assert not live_names & {name for name, _ in RETIRED.values()}
    # Each retired rule names the live rules that replaced it.
    for _name, successors in RETIRED.values():
        assert set(successors) <= live_ids
    # Ids are handed out in order: a new rule takes the next number, never a gap left by a retired one.
    numbers = sorted(int(i[3:]) for i in live_ids | set(RETIRED) if i.startswith("SSG"))
    assert numbers == list(range(1, len(numbers) + 1))


def test_retired_rules_name_their_successors() -> None:
    assert retired_hint("kubernetes-load-balancer-internal-or-tls") == (
        "kubernetes-load-balancer-internal-or-tls (SSG009) was split into one rule per property: "
        "kubernetes-load-balancer-internal, kubernetes-load-balancer-tls")
    assert retired_hint("SSG003") is not None
    assert retired_hint("kubernetes-load-balancer-internal") is None


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
        (hardened_aws(Plan()), stack(budget=10**6)),
        (hardened_aws(Plan(environment="dev", pricing_base="spot", pricing_burst="spot")),
         stack(environment="dev", budget=10**6)),
        (hardened_gcp(Plan(cloud="gcp", region="us-central1", instance_type="g2-standard-8")),
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
