"""SSG037 aws-eks-node-group-no-public-ssh: node group SSH access is limited to named security groups.

With `remoteAccess` (an SSH key) and no source security groups, EKS opens port 22 to 0.0.0.0/0.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.aws.views import EKS_NODE_GROUP_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    access = EKS_NODE_GROUP_VIEW.read(r, "remote_access")
    if is_unknown(access.value):
        return not_applicable(f"{access.path} unknown during preview")
    if access.value is MISSING or access.value is None:
        return passed()
    sources = EKS_NODE_GROUP_VIEW.read(r, "ssh_source_groups")
    if is_unknown(sources.value):
        return not_applicable(f"{sources.path} unknown during preview")
    if isinstance(sources.value, list) and sources.value:
        return passed()
    return violation(f"{access.path} is set without {sources.path}: EKS opens SSH (port 22) to 0.0.0.0/0; "
                     "name the security groups allowed to connect, or drop remote access (use SSM)")


RULE = ResourceRule(
    id="SSG037",
    name="aws-eks-node-group-no-public-ssh",
    description="EKS node groups with remote access limit SSH to named source security groups.",
    config_schema={},
    defaults={},
    resource_types=EKS_NODE_GROUP_VIEW.types,
    check=check,
)
