"""SSG022 gcp-gke-node-pool-gke-metadata: pods cannot read the node's credentials (split from retired SSG008).

`workloadMetadataConfig.mode = GKE_METADATA` is GKE's counterpart of IMDSv2: pods cannot read the node's
service-account token from the instance metadata server.
"""

from __future__ import annotations

from servestack.costing.nodes import GKE_NODE_POOL
from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    mode = r.get("nodeConfig", "workloadMetadataConfig", "mode")
    if is_unknown(mode):
        return not_applicable("nodeConfig.workloadMetadataConfig.mode unknown during preview")
    if mode == "GKE_METADATA":
        return passed()
    shown = "not set" if mode is MISSING else mode
    return violation(f"nodeConfig.workloadMetadataConfig.mode is {shown}; set GKE_METADATA")


RULE = ResourceRule(
    id="SSG022",
    name="gcp-gke-node-pool-gke-metadata",
    description="GKE node pools hide the node metadata server from pods (GKE_METADATA).",
    config_schema={},
    defaults={},
    resource_types=(GKE_NODE_POOL,),
    check=check,
)
