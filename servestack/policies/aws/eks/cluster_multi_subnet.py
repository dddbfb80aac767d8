"""SSG035 aws-eks-cluster-multi-subnet: the EKS control plane gets subnets in at least two zones.

EKS rejects a cluster whose `subnetIds` do not span two Availability Zones; the rule counts the subnets
(two ids in one zone still slip through: the zones are often unknown during a preview).
"""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.aws.views import EKS_CLUSTER_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    found = EKS_CLUSTER_VIEW.read(r, "subnet_ids")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    count = len(found.value) if isinstance(found.value, list) else 0
    if count >= 2:
        return passed()
    return violation(f"{found.path} has {count} subnet{'s' if count != 1 else ''}; EKS needs subnets in at least "
                     "two Availability Zones")


RULE = ResourceRule(
    id="SSG035",
    name="aws-eks-cluster-multi-subnet",
    description="EKS clusters get subnets in at least two Availability Zones.",
    config_schema={},
    defaults={},
    resource_types=EKS_CLUSTER_VIEW.types,
    check=check,
)
