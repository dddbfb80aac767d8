"""The one rule that turns per-zone spot prices into a region's spot price.

Spot for a (type, region) is the median over the region's regular zones (no Local or Wavelength
Zones) whose spot price is below on-demand. A zone quoting on-demand or more offers no spot discount
that day and would drag the median up; a zone missing from the inputs has no spot capacity. The
price is never derived from another size: spot discounts do not scale with size.
Every refresher (the API refresh and the snapshot rebuild) calls `regional_spot`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["SpotFigure", "regional_spot", "REGULAR_ZONE_TYPES", "NO_DISCOUNT_TOLERANCE"]

REGULAR_ZONE_TYPES = frozenset({"availability-zone"})

NO_DISCOUNT_TOLERANCE = 1e-4
"""A spot quote within 0.01 % of on-demand is on-demand written with fewer decimals (28.5449 for 28.54493)."""
"""EC2 `ZoneType` values counted; `local-zone` and `wavelength-zone` are left out."""


@dataclass(frozen=True, slots=True)
class SpotFigure:
    """A region's spot price (USD per node-hour) and the zones it is the median of (sorted)."""

    price: float
    zones: tuple[str, ...]


def regional_spot(
    zone_prices: Mapping[str, float],
    on_demand: float,
    zone_types: Mapping[str, str] | None = None,
) -> SpotFigure | None:
    """The median spot price over the discounted regular zones, or None when no zone has a discount.

    `zone_prices` maps a zone (name or ID) to its spot price; `zone_types` maps a zone to its EC2
    ZoneType where known (zones without an entry count as regular).
    """
    types = zone_types or {}
    discounted = {
        zone: price
        for zone, price in zone_prices.items()
        if price < on_demand * (1 - NO_DISCOUNT_TOLERANCE)
        and types.get(zone, "availability-zone") in REGULAR_ZONE_TYPES
    }
    if not discounted:
        return None
    return SpotFigure(statistics.median(sorted(discounted.values())), tuple(sorted(discounted)))
