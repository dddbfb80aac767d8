"""SSG020 aws-launch-template-encrypted-volumes: every EBS volume is encrypted (split from retired SSG005)."""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, contains_unknown, lookup
from servestack.policies.aws.views import LAUNCH_TEMPLATE_VIEW, is_true
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = LAUNCH_TEMPLATE_VIEW.read(r, "block_devices")
    if contains_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    mappings = found.value
    if not isinstance(mappings, list) or not mappings:
        return violation(f"{found.path} not set: the root volume is encrypted only if the account turns on EBS "
                         "encryption by default; map the root device with ebs.encrypted true")
    messages: list[str] = []
    for i, mapping in enumerate(mappings):
        if lookup(mapping, "ebs") is MISSING:
            continue
        if not is_true(lookup(mapping, "ebs", "encrypted")):
            device = lookup(mapping, "deviceName")
            messages.append(f"{found.path}[{i}] ({device if isinstance(device, str) else '?'}): "
                            "ebs.encrypted is not true")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG020",
    name="aws-launch-template-encrypted-volumes",
    description="Launch templates map the root device and encrypt every EBS volume.",
    config_schema={},
    defaults={},
    resource_types=LAUNCH_TEMPLATE_VIEW.types,
    check=check,
)
