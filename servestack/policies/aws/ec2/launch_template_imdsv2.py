"""SSG019 aws-launch-template-imdsv2: nodes require IMDSv2 tokens (split from retired SSG005).

Without `httpTokens: required` a pod that reaches the instance metadata service can read the node role's
credentials with one unauthenticated GET.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.aws.views import LAUNCH_TEMPLATE_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = LAUNCH_TEMPLATE_VIEW.read(r, "http_tokens")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    if found.value == "required":
        return passed()
    shown = "not set (IMDSv1 allowed)" if found.value is MISSING else found.value
    return violation(f"{found.path} is {shown}; set required (IMDSv2)")


RULE = ResourceRule(
    id="SSG019",
    name="aws-launch-template-imdsv2",
    description="Launch templates require IMDSv2 (metadataOptions.httpTokens: required).",
    config_schema={},
    defaults={},
    resource_types=LAUNCH_TEMPLATE_VIEW.types,
    check=check,
)
