"""The VPC of an EKS cluster: public subnets with NAT gateways, private subnets for nodes and pods.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from collections.abc import Callable
from typing import Any


def _nth_zone(i: int) -> Callable[[list[Any]], str]:
    def pick(values: list[Any]) -> str:
        names, region = values
        # An engine without the zone lookup (offline preview) still gets the region's conventional names.
        return sorted(names)[i] if names else f"{region}{'abcdef'[i]}"

    return pick
