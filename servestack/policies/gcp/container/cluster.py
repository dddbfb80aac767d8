"""SSG007 gcp-gke-cluster-private-nodes: GKE clusters give their nodes no external IPs."""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "GKE_CLUSTER"]

GKE_CLUSTER = "gcp:container/cluster:Cluster"


def check(r: Resource, ctx: RuleContext) -> Outcome:
    private = r.get("privateClusterConfig", "enablePrivateNodes")
    if is_unknown(private):
        return not_applicable("privateClusterConfig unknown during preview")
    if private is not True:
        return violation("privateClusterConfig.enablePrivateNodes is not true; nodes would get external IPs")
    return passed()


RULE = ResourceRule(
    id="SSG007",
    name="gcp-gke-cluster-private-nodes",
    description="GKE clusters use private nodes (no external node IPs).",
    config_schema={},
    defaults={},
    resource_types=(GKE_CLUSTER,),
    check=check,
)
