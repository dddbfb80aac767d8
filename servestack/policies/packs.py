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
        ("aws-ecr-repository-immutable-scanned-encrypted", "mandatory"),
        ("gcp-artifact-registry-immutable-scanned", "mandatory"),
        ("aws-launch-template-imdsv2-encrypted-private", "mandatory"),
        ("aws-eks-node-group-private-subnets", "mandatory"),
        ("gcp-gke-cluster-private-nodes", "mandatory"),
        ("gcp-gke-node-pool-metadata-private", "mandatory"),
        ("kubernetes-load-balancer-internal-or-tls", "mandatory"),
        ("cost-allocation-tags", "advisory"),
        ("kubernetes-image-pinned-tag", "advisory"),
        ("kubernetes-model-server-gpu-limits-probes", "advisory"),
        ("kubernetes-model-server-pdb", "advisory"),
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
