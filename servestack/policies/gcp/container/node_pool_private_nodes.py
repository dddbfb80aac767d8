"""SSG023 gcp-gke-node-pool-private-nodes: a pool does not override private nodes (split from retired SSG008)."""

from __future__ import annotations

from servestack.costing.nodes import GKE_NODE_POOL
from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    private = r.get("networkConfig", "enablePrivateNodes")
    if is_unknown(private):
        return not_applicable("networkConfig.enablePrivateNodes unknown during preview")
    if private is False:
        return violation("networkConfig.enablePrivateNodes is false; the pool's nodes would get external IPs")
    return passed()


RULE = ResourceRule(
    id="SSG023",
    name="gcp-gke-node-pool-private-nodes",
    description="GKE node pools keep their nodes private (networkConfig.enablePrivateNodes not false).",
    config_schema={},
    defaults={},
    resource_types=(GKE_NODE_POOL,),
    check=check,
)
