"""SSG036 aws-eks-cluster-secrets-encryption: Kubernetes secrets are envelope-encrypted with a KMS key.

pulumi-aws takes one `encryptionConfig` object, aws-native a list of them; either must name `secrets`.
"""

from __future__ import annotations

from servestack.costing.resources import Resource, contains_unknown, is_unknown, lookup
from servestack.policies.aws.views import EKS_CLUSTER_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = EKS_CLUSTER_VIEW.read(r, "encryption")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    entries = found.value if isinstance(found.value, list) else [found.value]
    covered = False
    for entry in entries:
        resources = lookup(entry, "resources")
        if contains_unknown(resources):
            return not_applicable(f"{found.path}.resources unknown during preview")
        if isinstance(resources, list) and "secrets" in resources:
            covered = True
    if covered:
        return passed()
    return violation(f"{found.path} does not encrypt secrets; set resources [\"secrets\"] with a KMS key "
                     "(provider.keyArn) so Kubernetes secrets are envelope-encrypted")


RULE = ResourceRule(
    id="SSG036",
    name="aws-eks-cluster-secrets-encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a KMS key.",
    config_schema={},
    defaults={},
    resource_types=EKS_CLUSTER_VIEW.types,
    check=check,
)
