"""SSG054 aws-ec2-gpu-instance-encrypted-volumes: a GPU instance's root and EBS volumes are encrypted.

pulumi-aws states them in `rootBlockDevice` and `ebsBlockDevices`, aws-native in `blockDeviceMappings`.
An instance with no root device settings gets an unencrypted root volume unless the account encrypts by
default, or its launch template maps one (the launch template rule judges that).
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, contains_unknown, lookup
from servestack.policies.aws.ec2.gpu_instance import not_gpu_instance, uses_launch_template
from servestack.policies.aws.views import EC2_INSTANCE_VIEW, NATIVE_EC2_INSTANCE, is_true
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def _native(r: Resource) -> list[str] | None:
    found = EC2_INSTANCE_VIEW.read(r, "block_devices")
    if contains_unknown(found.value):
        return None
    mappings = found.value if isinstance(found.value, list) else []
    if not mappings:
        return [] if uses_launch_template(r) else [
            f"{found.path} not set: the root volume is encrypted only if the account encrypts EBS by default; "
            "map it with ebs.encrypted true"]
    return [f"{found.path}[{i}] ({lookup(m, 'deviceName')}): ebs.encrypted is not true"
            for i, m in enumerate(mappings) if lookup(m, "ebs") is not MISSING and not is_true(lookup(m, "ebs",
                                                                                                        "encrypted"))]


def _classic(r: Resource) -> list[str] | None:
    root = EC2_INSTANCE_VIEW.read(r, "root_device")
    ebs = EC2_INSTANCE_VIEW.read(r, "ebs_devices")
    if contains_unknown(root.value) or contains_unknown(ebs.value):
        return None
    messages: list[str] = []
    if root.value is MISSING or root.value is None:
        if not uses_launch_template(r):
            messages.append(f"{root.path} not set: the root volume is encrypted only if the account encrypts EBS "
                            f"by default; set {root.path}.encrypted true")
    elif not is_true(lookup(root.value, "encrypted")):
        messages.append(f"{root.path}.encrypted is not true")
    for i, device in enumerate(ebs.value if isinstance(ebs.value, list) else []):
        if not is_true(lookup(device, "encrypted")):
            messages.append(f"{ebs.path}[{i}] ({lookup(device, 'deviceName')}): encrypted is not true")
    return messages


def check(r: Resource, ctx: RuleContext) -> Outcome:
    skip = not_gpu_instance(r)
    if skip is not None:
        return skip
    messages = _native(r) if r.type == NATIVE_EC2_INSTANCE else _classic(r)
    if messages is None:
        return not_applicable("volume settings unknown during preview")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG054",
    name="aws-ec2-gpu-instance-encrypted-volumes",
    description="EC2 GPU instances encrypt their root and EBS volumes.",
    config_schema={},
    defaults={},
    resource_types=EC2_INSTANCE_VIEW.types,
    check=check,
)
