"""SSG008 gcp-gke-node-pool-metadata-private: GKE metadata server on, pool not made public.

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
    private = r.get("networkConfig", "enablePrivateNodes")
    if is_unknown(mode) or is_unknown(private):
        return not_applicable("node pool settings unknown during preview")
    messages: list[str] = []
    if mode != "GKE_METADATA":
        shown = "not set" if mode is MISSING else mode
        messages.append(f"nodeConfig.workloadMetadataConfig.mode is {shown}; set GKE_METADATA")
    if private is False:
        messages.append("networkConfig.enablePrivateNodes is false; the pool's nodes would get external IPs")
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG008",
    name="gcp-gke-node-pool-metadata-private",
    description="GKE node pools hide the node metadata server (GKE_METADATA) and keep nodes private.",
    config_schema={},
    defaults={},
    resource_types=(GKE_NODE_POOL,),
    check=check,
)
