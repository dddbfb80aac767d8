"""The one place a group of GPU nodes is priced, for the selector and for the cost engine alike.

The selector prices a candidate before any stack exists; the cost engine prices the node groups it reads
from a resource graph. Both go through `price_node_shape` (or its parts, `billed_mode`, `hourly_usd` and
`nodes_monthly_usd`), so a plan's ceiling and the costed ceiling of the stack it writes are the same sum
computed the same way, not two formulas kept equal by tests. The platform's fixed costs (control plane,
NAT, system nodes, load balancer, volumes) live next door in `servestack.catalog.platform`.

Pulumi-free and cheap to import: the selector calls `nodes_monthly_usd` in its hot loop, once per pricing
combination of every offering, so it is a few multiplications and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from servestack.catalog.platform import HOURS_PER_MONTH, volume_monthly_usd
from servestack.catalog.types import Offering, PricingMode

__all__ = [
    "NodeVolume",
    "ShapeCost",
    "billed_mode",
    "group_hourly_usd",
    "hourly_usd",
    "nodes_monthly_usd",
    "pool_hourly_usd",
    "price_node_shape",
]


def billed_mode(mode: PricingMode, commitment_purchased: bool) -> PricingMode:
    """The rate a node is billed at: a 1y/3y commitment not (yet) bought is billed on-demand."""
    if mode in ("1y", "3y") and not commitment_purchased:
        return "on_demand"
    return mode


def hourly_usd(offering: Offering, mode: PricingMode, *, commitment_purchased: bool = True) -> float | None:
    """USD per node-hour of `offering` billed in `mode`, None when the catalog has no such price."""
    return offering.price(billed_mode(mode, commitment_purchased))


def group_hourly_usd(prices: Sequence[float], mode: PricingMode) -> float:
    """USD per node-hour of a group that may launch several instance types, given their prices in launch order.

    A spot group lists equivalent types so it can find capacity (capacity diversification); which type a
    spot node lands on is the cloud's choice, so every spot node is priced at the dearest type. Other
    capacity launches the first type it can, so it is priced at the first.
    """
    if not prices:
        raise ValueError("a node group prices at least one instance type")
    return max(prices) if mode == "spot" else prices[0]


def pool_hourly_usd(
    offering: Offering, mode: PricingMode, spot_alternates: Sequence[Offering] = ()
) -> float | None:
    """USD per node-hour of a pool of `offering` in `mode` whose spot nodes may also launch `spot_alternates`.

    None when the catalog has no such price (for spot: for any of the types the pool may launch).
    """
    price = offering.price(mode)
    if price is None or mode != "spot" or not spot_alternates:
        return price
    prices = [price]
    for alternate in spot_alternates:
        found = alternate.price("spot")
        if found is None:
            return None
        prices.append(found)
    return group_hourly_usd(prices, mode)


def nodes_monthly_usd(
    base_hourly: float, base_nodes: int, rest_hourly: float = 0.0, rest_nodes: int = 0,
    hours: float = HOURS_PER_MONTH,
) -> float:
    """Node-hours of a group whose first `base_nodes` bill at one rate and the `rest_nodes` above at another.

    The selector's floor (committed or on-demand) plus burst (spot or on-demand), and the cost engine's
    on-demand base plus spot remainder of a mixed group, are both this shape; a uniform group has no rest.
    The order of the arithmetic is fixed here, so both callers get the same float to the last bit.
    """
    return (base_hourly * base_nodes + rest_hourly * rest_nodes) * hours


@dataclass(frozen=True, slots=True)
class NodeVolume:
    """The block volume each node carries; throughput and IOPS above the AWS gp3 baseline are billed extra."""

    gib: float
    throughput_mibps: float = 0
    iops: float = 0


@dataclass(frozen=True, slots=True)
class ShapeCost:
    """USD of a node shape over the hours asked for, split as the cost report lists it."""

    compute: float
    volumes: float

    @property
    def total(self) -> float:
        return self.compute + self.volumes


def price_node_shape(
    offering: Offering,
    mode: PricingMode,
    nodes: int,
    *,
    commitment_purchased: bool = True,
    burst_mode: PricingMode | None = None,
    burst_nodes: int = 0,
    hours: float = HOURS_PER_MONTH,
    volume: NodeVolume | None = None,
) -> ShapeCost | None:
    """USD of `nodes` nodes of `offering` billed in `mode` plus `burst_nodes` more in `burst_mode`, for `hours`.

    `nodes` counts every node of the group (for a GCP pool spread over zones: nodes per zone x zones).
    A 1y/3y mode is billed on-demand unless `commitment_purchased`. Volumes are priced per month and
    scaled to `hours`. None when the catalog has no price for a mode the shape needs.
    """
    base = hourly_usd(offering, mode, commitment_purchased=commitment_purchased)
    if base is None:
        return None
    rest = 0.0
    if burst_nodes:
        if burst_mode is None:
            raise ValueError("burst_nodes given without burst_mode")
        found = hourly_usd(offering, burst_mode, commitment_purchased=commitment_purchased)
        if found is None:
            return None
        rest = found
    compute = nodes_monthly_usd(base, nodes, rest, burst_nodes, hours)
    volumes = 0.0
    if volume is not None:
        per_node = volume_monthly_usd(offering.cloud, volume.gib, volume.throughput_mibps, volume.iops)
        volumes = (nodes + burst_nodes) * per_node * (hours / HOURS_PER_MONTH)
    return ShapeCost(compute, volumes)
