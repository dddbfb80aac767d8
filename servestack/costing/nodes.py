"""Every group of machines a resource graph runs, read through one adapter per cloud.

Shared by the cost engine and the policies that count accelerators or check capacity types, so both
read node groups, instance groups, instances and endpoints the same way. The per-cloud readers live in
`servestack.costing.aws` and `servestack.costing.gcp` behind `servestack.costing.shape.CloudAdapter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from servestack.catalog import Catalog
from servestack.catalog.platform import platform_prices
from servestack.costing.aws import AWS, EKS_DEFAULT_DISK_GIB, EKS_NODE_GROUP, LAUNCH_TEMPLATE, SUBNETS
from servestack.costing.gcp import GCP, GKE_DEFAULT_DISK_GB, GKE_NODE_POOL
from servestack.costing.resources import Resource
from servestack.costing.shape import (
    COMMITMENT_PURCHASED_KEY,
    PRICING_TAG,
    CapacitySplit,
    CloudAdapter,
    Graph,
    NodeGroup,
    finish,
)

__all__ = [
    "ADAPTERS",
    "AWS_LAUNCH_TEMPLATE",
    "AWS_SUBNET",
    "EKS_DEFAULT_DISK_GIB",
    "GKE_DEFAULT_DISK_GB",
    "COMMITMENT_PURCHASED_KEY",
    "COMPUTE_TYPES",
    "CapacitySplit",
    "EKS_NODE_GROUP",
    "GKE_NODE_POOL",
    "NODE_TYPES",
    "PRICING_TAG",
    "NodeGroup",
    "graph_of",
    "read_node_group",
    "read_node_groups",
    "resource_cloud",
    "stack_cloud",
    "system_node_price",
]

AWS_LAUNCH_TEMPLATE: Final = LAUNCH_TEMPLATE
AWS_SUBNET: Final = SUBNETS[0]

NODE_TYPES: Final = (EKS_NODE_GROUP, GKE_NODE_POOL)
"""Kubernetes node groups/pools (what the node-group guardrails judge)."""

ADAPTERS: Final[tuple[CloudAdapter, ...]] = (AWS, GCP)
COMPUTE_TYPES: Final = frozenset().union(*(a.resource_types for a in ADAPTERS))
"""Every resource type that runs machines (and so may run accelerators) the cost engine prices."""

_CLOUD_PREFIXES: Final = {"aws": "aws", "aws-native": "aws", "gcp": "gcp", "google-native": "gcp"}


def resource_cloud(resource_type: str) -> str | None:
    return _CLOUD_PREFIXES.get(resource_type.split(":", 1)[0])


def stack_cloud(resources: Sequence[Resource], stack_config: Mapping[str, Any] | None = None) -> str | None:
    """The one cloud the graph's provider resources belong to, else the stack config's, else None."""
    clouds = {c for r in resources if (c := resource_cloud(r.type)) is not None}
    if len(clouds) == 1:
        return next(iter(clouds))
    config = stack_config or {}
    deployment = config.get("servestack:deployment")
    fleet = config.get("servestack:fleet")
    if not isinstance(deployment, Mapping) and isinstance(fleet, Mapping):
        # A multi-workload stack: every server runs in the one cluster, so the first server's cloud is the stack's.
        servers = fleet.get("servers")
        first = servers[0] if isinstance(servers, list) and servers else None
        deployment = first.get("deployment") if isinstance(first, Mapping) else None
    if isinstance(deployment, Mapping) and deployment.get("cloud") in ("aws", "gcp"):
        return str(deployment["cloud"])
    return None


def graph_of(resources: Sequence[Resource], catalog: Catalog, *, region: str | None = None,
             stack_config: Mapping[str, Any] | None = None) -> Graph:
    dependents: dict[str, list[Resource]] = {}
    for r in resources:
        for dep in r.dependencies:
            dependents.setdefault(dep, []).append(r)
    return Graph(catalog=catalog, by_urn={r.urn: r for r in resources}, config=dict(stack_config or {}),
                 region=region, dependents=dependents)


def read_node_groups(r: Resource, graph: Graph) -> list[NodeGroup]:
    """Every group of machines `r` runs (none when its type runs no machines)."""
    for adapter in ADAPTERS:
        if r.type in adapter.resource_types:
            return [finish(reading, graph) for reading in adapter.read(r, graph)]
    return []


def read_node_group(
    r: Resource,
    catalog: Catalog,
    by_urn: Mapping[str, Resource],
    *,
    region: str | None = None,
    stack_config: Mapping[str, Any] | None = None,
) -> NodeGroup:
    """The (first) group of machines of one resource whose type is in COMPUTE_TYPES."""
    graph = graph_of(list(by_urn.values()) if r.urn in by_urn else [*by_urn.values(), r], catalog,
                     region=region, stack_config=stack_config)
    groups = read_node_groups(r, graph)
    if not groups:
        raise ValueError(f"{r.type} runs no machines the cost engine reads (see COMPUTE_TYPES)")
    return groups[0]


def system_node_price(cloud: str, instance_type: str | None) -> float | None:
    """USD/hour of the platform's system node type (on-demand), None for any other type."""
    prices = platform_prices(cloud)
    if instance_type == prices.system_node_instance_type:
        return prices.system_node_per_hour
    return None
