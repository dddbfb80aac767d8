"""SSG013 autoscaler-explicit-max: every autoscaler states its maximum.

KEDA defaults `maxReplicaCount` to 100 and a GKE autoscaling block without a maximum is rejected late;
an explicit bound is what the budget ceiling is computed from.
"""

from __future__ import annotations

from servestack.costing.nodes import EKS_NODE_GROUP, GKE_NODE_POOL
from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import HPA_TYPES, SCALED_OBJECT

__all__ = ["RULE"]


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 1


def check(r: Resource, ctx: RuleContext) -> Outcome:
    if r.type == SCALED_OBJECT:
        path: tuple[str, ...] = ("spec", "maxReplicaCount")
    elif r.type in HPA_TYPES:
        path = ("spec", "maxReplicas")
    elif r.type == EKS_NODE_GROUP:
        path = ("scalingConfig", "maxSize")
    else:
        auto = r.get("autoscaling")
        if auto is MISSING or auto is None:
            return not_applicable("node pool without autoscaling")
        if is_unknown(auto):
            return not_applicable("autoscaling unknown during preview")
        total, per_zone = r.get("autoscaling", "totalMaxNodeCount"), r.get("autoscaling", "maxNodeCount")
        if is_unknown(total) or is_unknown(per_zone):
            return not_applicable("autoscaling maximum unknown during preview")
        if _positive(total) or _positive(per_zone):
            return passed()
        return violation("autoscaling sets neither totalMaxNodeCount nor maxNodeCount to a number >= 1")
    value = r.get(*path)
    if is_unknown(value):
        return not_applicable(f"{'.'.join(path)} unknown during preview")
    if not _positive(value):
        shown = "not set" if value is MISSING else f"{value!r}"
        return violation(f"{'.'.join(path)} is {shown}; set an explicit maximum >= 1")
    return passed()


RULE = ResourceRule(
    id="SSG013",
    name="autoscaler-explicit-max",
    description="Autoscalers (KEDA ScaledObjects, HPAs, node groups and node pools) set an explicit maximum.",
    config_schema={},
    defaults={},
    resource_types=(SCALED_OBJECT, *HPA_TYPES, EKS_NODE_GROUP, GKE_NODE_POOL),
    check=check,
)
