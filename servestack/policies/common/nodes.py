"""Node group reading for resource rules (one resource, the bundled catalog)."""

from __future__ import annotations

from servestack.catalog import load_catalog
from servestack.costing.nodes import EKS_NODE_GROUP, NodeGroup, read_node_group
from servestack.costing.resources import Resource
from servestack.policies.base import RuleContext

__all__ = ["node_group", "capacity_text"]


def node_group(r: Resource, ctx: RuleContext) -> NodeGroup:
    return read_node_group(r, load_catalog(), {r.urn: r}, stack_config=ctx.stack.values)


def capacity_text(r: Resource) -> str:
    """How the resource states its capacity, for messages."""
    if r.type == EKS_NODE_GROUP:
        cap = r.get("capacityType")
        return f"capacityType is {cap if isinstance(cap, str) else 'ON_DEMAND (the default)'}"
    return "nodeConfig.spot is not true"
