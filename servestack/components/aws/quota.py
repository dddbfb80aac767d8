"""The AWS half of the quota preflight: reads EC2 vCPU quotas through the Service Quotas invoke.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from servestack.components.quotas import CapacityGroup, QuotaNeed, aws_quota_needs, judge, require


def ec2_quota(quota_code: str, region: str) -> float | None:
    """The value of one EC2 quota, or None when it cannot be read (offline engine, no permission)."""
    try:
        found = aws.servicequotas.get_service_quota(service_code="ec2", quota_code=quota_code, region=region)
    except Exception as exc:  # noqa: BLE001 - any lookup failure means "not checked", never a failed deploy
        pulumi.log.warn(f"quota preflight: could not read EC2 quota {quota_code} in {region}: {exc}")
        return None
    value = getattr(found, "value", None)
    return float(value) if isinstance(value, int | float) else None


def preflight(instance_type: str, vcpus_per_node: int, region: str, groups: Sequence[CapacityGroup]) -> None:
    """Fail with QuotaError, before any resource exists, when the EC2 GPU quota cannot hold the peak node count."""
    check_needs(aws_quota_needs(instance_type, vcpus_per_node, region, groups))


def check_needs(needs: Sequence[QuotaNeed]) -> None:
    """Fail with QuotaError when a granted EC2 quota is below a need (the summed needs of every pool)."""
    for note in require([judge(n, ec2_quota(n.quota_id, n.region)) for n in needs]):
        pulumi.log.info(f"quota preflight: {note}")
