"""SSG005 aws-launch-template-imdsv2-encrypted-private: IMDSv2, encrypted EBS, no public IP on nodes."""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, contains_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "LAUNCH_TEMPLATE"]

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def _true(value: object) -> bool:
    # pulumi-aws types ebs.encrypted and associatePublicIpAddress as strings ("true"/"false").
    return value is True or (isinstance(value, str) and value.lower() == "true")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    tokens = r.get("metadataOptions", "httpTokens")
    mappings = r.get("blockDeviceMappings")
    interfaces = r.get("networkInterfaces")
    if contains_unknown(tokens) or contains_unknown(mappings) or contains_unknown(interfaces):
        return not_applicable("launch template settings unknown during preview")
    messages: list[str] = []
    if tokens != "required":
        shown = "not set (IMDSv1 allowed)" if tokens is MISSING else tokens
        messages.append(f"metadataOptions.httpTokens is {shown}; set required (IMDSv2)")
    if not isinstance(mappings, list) or not mappings:
        messages.append("blockDeviceMappings not set: the root volume is encrypted only if the account turns on "
                        "EBS encryption by default; map the root device with ebs.encrypted true")
    for i, mapping in enumerate(mappings if isinstance(mappings, list) else []):
        if lookup(mapping, "ebs") is MISSING:
            continue
        if not _true(lookup(mapping, "ebs", "encrypted")):
            device = lookup(mapping, "deviceName")
            messages.append(f"blockDeviceMappings[{i}] ({device if isinstance(device, str) else '?'}): "
                            "ebs.encrypted is not true")
    for i, nic in enumerate(interfaces if isinstance(interfaces, list) else []):
        if _true(lookup(nic, "associatePublicIpAddress")):
            messages.append(f"networkInterfaces[{i}].associatePublicIpAddress is true; nodes must stay private")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG005",
    name="aws-launch-template-imdsv2-encrypted-private",
    description="Node launch templates require IMDSv2, encrypt their EBS volumes and assign no public IPs.",
    config_schema={},
    defaults={},
    resource_types=(LAUNCH_TEMPLATE,),
    check=check,
)
