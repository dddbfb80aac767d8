"""Monthly cost of a Pulumi resource graph, priced from the bundled catalog.

`cost_resources(resources)` takes the offline preview's records or the resources a policy pack receives
and returns a `CostReport` with `expected` and `ceiling` per item and in total; unknown prices are listed
as unknown, never counted as zero.
"""

from __future__ import annotations

from servestack.costing.engine import CostedResource, CostReport, cost_graph, cost_resources
from servestack.costing.nodes import NodeGroup, read_node_group
from servestack.costing.resources import UNKNOWN, Resource, ResourceLike, as_resource, as_resources, normalize
from servestack.costing.showback import Showback, WorkloadShare

__all__ = [
    "CostedResource",
    "CostReport",
    "NodeGroup",
    "Resource",
    "ResourceLike",
    "Showback",
    "WorkloadShare",
    "UNKNOWN",
    "as_resource",
    "as_resources",
    "cost_graph",
    "cost_resources",
    "normalize",
    "read_node_group",
]
