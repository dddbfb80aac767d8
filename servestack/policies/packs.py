"""The two CrossGuard packs: which rules each holds and at which default enforcement level.

`policies/<pack>/__main__.py` builds a `PolicyPack` from these; `servestack check` reads the same
definitions, so the offline verdict and `pulumi preview --policy-pack` cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from servestack.policies.base import Level, Rule
from servestack.policies.registry import rule_by_name

__all__ = ["PackSpec", "BUDGET", "GUARDRAILS", "PACKS", "pack"]


@dataclass(frozen=True, slots=True)
class PackSpec:
    name: str
    """Policy pack name (as PulumiPolicy.yaml and the Pulumi Cloud show it)."""
    directory: str
    """Directory under policies/ holding the pack."""
    description: str
    levels: tuple[tuple[str, Level], ...]
    """(rule name, default enforcement level), in report order."""

    def rules(self) -> list[tuple[Rule, Level]]:
        return [(rule_by_name(name), level) for name, level in self.levels]


BUDGET = PackSpec(
    name="servestack-budget",
    directory="budget",
    description="Keeps a stack's monthly GPU bill within its budget (priced from servestack's bundled catalog).",
    levels=(
        ("budget-monthly-ceiling", "mandatory"),
        ("budget-monthly-warning", "advisory"),
        ("budget-unpriced-resources", "mandatory"),
        ("max-accelerators", "advisory"),
        ("dev-spot-only", "advisory"),
    ),
)

GUARDRAILS = PackSpec(
    name="servestack-guardrails",
    directory="guardrails",
    description="Security, cost-allocation and reliability guardrails for GPU model-serving stacks.",
    levels=(
        ("allowed-accelerators", "mandatory"),
        ("aws-ecr-repository-immutable-tags", "mandatory"),
        ("aws-ecr-repository-scan-on-push", "mandatory"),
        ("aws-ecr-repository-kms-encryption", "mandatory"),
        ("gcp-artifact-registry-immutable-tags", "mandatory"),
        ("gcp-artifact-registry-vulnerability-scanning", "mandatory"),
        ("aws-launch-template-imdsv2", "mandatory"),
        ("aws-launch-template-encrypted-volumes", "mandatory"),
        ("aws-launch-template-no-public-ip", "mandatory"),
        ("aws-eks-cluster-public-api-restricted", "mandatory"),
        ("aws-eks-cluster-multi-subnet", "mandatory"),
        ("aws-eks-cluster-secrets-encryption", "mandatory"),
        ("aws-eks-node-group-private-subnets", "mandatory"),
        ("aws-eks-node-group-no-public-ssh", "mandatory"),
        ("aws-eks-node-group-launch-template", "mandatory"),
        ("aws-alb-http-listener-redirects-https", "mandatory"),
        ("aws-ec2-gpu-instance-no-public-ip", "mandatory"),
        ("aws-ec2-gpu-instance-imdsv2", "mandatory"),
        ("aws-ec2-gpu-instance-encrypted-volumes", "mandatory"),
        ("gcp-gke-cluster-private-nodes", "mandatory"),
        ("gcp-gke-cluster-public-api-restricted", "mandatory"),
        ("gcp-gke-cluster-no-legacy-abac", "mandatory"),
        ("gcp-gke-cluster-workload-identity", "mandatory"),
        ("gcp-gke-node-pool-gke-metadata", "mandatory"),
        ("gcp-gke-node-pool-private-nodes", "mandatory"),
        ("kubernetes-load-balancer-internal", "mandatory"),
        ("kubernetes-load-balancer-tls", "mandatory"),
        ("kubernetes-load-balancer-no-plain-http", "mandatory"),
        ("kubernetes-fp8-kv-cache-supported", "mandatory"),
        ("kubernetes-gpu-workload-await-timeout", "mandatory"),
        ("kubernetes-pss-privileged", "mandatory"),
        ("kubernetes-pss-host-namespaces", "mandatory"),
        ("kubernetes-pss-host-path-volumes", "mandatory"),
        ("kubernetes-pss-capabilities", "mandatory"),
        ("kubernetes-pss-host-ports", "mandatory"),
        ("cost-allocation-tags", "advisory"),
        ("kubernetes-image-pinned-tag", "advisory"),
        ("kubernetes-model-server-gpu-limits", "advisory"),
        ("kubernetes-model-server-readiness-probe", "advisory"),
        ("kubernetes-model-server-liveness-probe", "advisory"),
        ("kubernetes-model-server-pdb", "advisory"),
        ("kubernetes-gpu-pod-cpu-request", "advisory"),
        ("kubernetes-gpu-pod-memory-request", "advisory"),
        ("kubernetes-pss-run-as-non-root", "advisory"),
        ("kubernetes-pss-allow-privilege-escalation", "advisory"),
        ("kubernetes-pss-seccomp-runtime-default", "advisory"),
        ("kubernetes-pss-drop-all-capabilities", "advisory"),
        ("autoscaler-explicit-max", "advisory"),
    ),
)

PACKS: dict[str, PackSpec] = {p.directory: p for p in (BUDGET, GUARDRAILS)}


def pack(name: str) -> PackSpec:
    """A pack by directory name (budget, guardrails) or pack name (servestack-budget, ...)."""
    for spec in PACKS.values():
        if name in (spec.directory, spec.name):
            return spec
    raise KeyError(name)
