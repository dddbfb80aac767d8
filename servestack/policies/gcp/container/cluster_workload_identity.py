"""SSG040 gcp-gke-cluster-workload-identity: pods get Google credentials through Workload Identity.

Without a workload pool, pods can only use the node's service account (shared by every pod on the node).
"""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.gcp.container.cluster import GKE_CLUSTER

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    pool = r.get("workloadIdentityConfig", "workloadPool")
    if is_unknown(pool):
        return not_applicable("workloadIdentityConfig.workloadPool unknown during preview")
    if isinstance(pool, str) and pool.strip():
        return passed()
    return violation("workloadIdentityConfig.workloadPool is not set: pods would share the node's service account; "
                     "set it to PROJECT.svc.id.goog")


RULE = ResourceRule(
    id="SSG040",
    name="gcp-gke-cluster-workload-identity",
    description="GKE clusters enable Workload Identity (workloadIdentityConfig.workloadPool).",
    config_schema={},
    defaults={},
    resource_types=(GKE_CLUSTER,),
    check=check,
)
