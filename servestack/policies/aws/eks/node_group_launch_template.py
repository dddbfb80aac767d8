"""SSG038 aws-eks-node-group-launch-template: node groups run from a launch template.

Without one, EKS uses its default template: IMDSv1 reachable from pods (hop limit 2, tokens optional)
and a root volume encrypted only if the account says so; the launch template rules cannot see it.
"""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown, lookup
from servestack.policies.aws.views import EKS_NODE_GROUP_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = EKS_NODE_GROUP_VIEW.read(r, "launch_template")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    # An id or name still unknown during a preview is set all the same.
    named = (lookup(found.value, "id"), lookup(found.value, "name"))
    if any(is_unknown(v) or (isinstance(v, str) and v) for v in named):
        return passed()
    return violation(f"{found.path} is not set: EKS's default template leaves IMDSv1 reachable from pods and the "
                     "root volume unencrypted unless the account encrypts by default; use a launch template with "
                     "httpTokens required and encrypted volumes")


RULE = ResourceRule(
    id="SSG038",
    name="aws-eks-node-group-launch-template",
    description="EKS node groups run from a launch template (IMDSv2, encrypted volumes).",
    config_schema={},
    defaults={},
    resource_types=EKS_NODE_GROUP_VIEW.types,
    check=check,
)
