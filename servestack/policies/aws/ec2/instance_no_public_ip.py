"""SSG052 aws-ec2-gpu-instance-no-public-ip: GPU instances get no public IP address."""

from __future__ import annotations

from servestack.costing.resources import Resource, contains_unknown, is_unknown, lookup
from servestack.policies.aws.ec2.gpu_instance import not_gpu_instance
from servestack.policies.aws.views import EC2_INSTANCE_VIEW, is_true
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    skip = not_gpu_instance(r)
    if skip is not None:
        return skip
    public = EC2_INSTANCE_VIEW.read(r, "public_ip")
    interfaces = EC2_INSTANCE_VIEW.read(r, "interfaces")
    if is_unknown(public.value) or contains_unknown(interfaces.value):
        return not_applicable("public IP settings unknown during preview")
    messages: list[str] = []
    if is_true(public.value):
        messages.append(f"{public.path} is true: the GPU instance is reachable from the internet; keep it in a "
                        "private subnet behind a load balancer or NAT")
    for i, nic in enumerate(interfaces.value if isinstance(interfaces.value, list) else []):
        if is_true(lookup(nic, "associatePublicIpAddress")):
            messages.append(f"{interfaces.path}[{i}].associatePublicIpAddress is true: the GPU instance is "
                            "reachable from the internet")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG052",
    name="aws-ec2-gpu-instance-no-public-ip",
    description="EC2 GPU instances are not given a public IP address.",
    config_schema={},
    defaults={},
    resource_types=EC2_INSTANCE_VIEW.types,
    check=check,
)
