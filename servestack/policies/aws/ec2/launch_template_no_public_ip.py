"""SSG021 aws-launch-template-no-public-ip: nodes get no public IP (split from retired SSG005)."""

from __future__ import annotations

from servestack.costing.resources import Resource, contains_unknown, lookup
from servestack.policies.aws.views import LAUNCH_TEMPLATE_VIEW, is_true
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = LAUNCH_TEMPLATE_VIEW.read(r, "interfaces")
    if contains_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    interfaces = found.value if isinstance(found.value, list) else []
    messages = [f"{found.path}[{i}].associatePublicIpAddress is true; nodes must stay private"
                for i, nic in enumerate(interfaces) if is_true(lookup(nic, "associatePublicIpAddress"))]
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG021",
    name="aws-launch-template-no-public-ip",
    description="Launch templates assign no public IP to their network interfaces.",
    config_schema={},
    defaults={},
    resource_types=LAUNCH_TEMPLATE_VIEW.types,
    check=check,
)
