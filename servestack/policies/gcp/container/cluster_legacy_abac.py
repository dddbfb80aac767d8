"""SSG039 gcp-gke-cluster-no-legacy-abac: legacy ABAC stays off (it grants broad rights outside RBAC)."""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.gcp.container.cluster import GKE_CLUSTER

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    abac = r.get("enableLegacyAbac")
    if is_unknown(abac):
        return not_applicable("enableLegacyAbac unknown during preview")
    if abac is True:
        return violation("enableLegacyAbac is true: legacy ABAC grants rights outside RBAC; leave it off")
    return passed()


RULE = ResourceRule(
    id="SSG039",
    name="gcp-gke-cluster-no-legacy-abac",
    description="GKE clusters keep legacy ABAC disabled.",
    config_schema={},
    defaults={},
    resource_types=(GKE_CLUSTER,),
    check=check,
)
