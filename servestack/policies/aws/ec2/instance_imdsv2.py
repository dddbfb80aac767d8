"""SSG053 aws-ec2-gpu-instance-imdsv2: GPU instances require IMDSv2 tokens.

An instance launched from a launch template without its own `metadataOptions` takes the template's
setting, which aws-launch-template-imdsv2 judges.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.aws.ec2.gpu_instance import not_gpu_instance, uses_launch_template
from servestack.policies.aws.views import EC2_INSTANCE_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    skip = not_gpu_instance(r)
    if skip is not None:
        return skip
    found = EC2_INSTANCE_VIEW.read(r, "http_tokens")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    if found.value == "required":
        return passed()
    if found.value is MISSING and uses_launch_template(r):
        return not_applicable("metadata options come from the launch template (aws-launch-template-imdsv2)")
    shown = "not set (IMDSv1 allowed)" if found.value is MISSING else found.value
    return violation(f"{found.path} is {shown}; set required (IMDSv2) so workloads cannot read the instance "
                     "role's credentials with a plain GET")


RULE = ResourceRule(
    id="SSG053",
    name="aws-ec2-gpu-instance-imdsv2",
    description="EC2 GPU instances require IMDSv2 (metadataOptions.httpTokens: required).",
    config_schema={},
    defaults={},
    resource_types=EC2_INSTANCE_VIEW.types,
    check=check,
)
