"""The bundled GPU catalog: accelerator datasheet facts and priced cloud offerings.

`load_catalog()` reads the bundled data files once per process; `Catalog.from_offerings()` builds
synthetic catalogs. Imports nothing else of servestack besides errors, and no provider SDK.
"""

from __future__ import annotations

from servestack.catalog.catalog import Catalog, InstanceFacts
from servestack.catalog.load import load_catalog, parse_catalog
from servestack.catalog.types import (
    CLOUDS,
    PRECISIONS,
    PRICING_MODES,
    Accelerator,
    Cloud,
    Offering,
    Precision,
    PricingMode,
)

__all__ = [
    "Accelerator",
    "Catalog",
    "CLOUDS",
    "Cloud",
    "InstanceFacts",
    "Offering",
    "PRECISIONS",
    "PRICING_MODES",
    "Precision",
    "PricingMode",
    "load_catalog",
    "parse_catalog",
]
