"""The VPC of a GKE cluster: one subnetwork with pod/service ranges, and Cloud NAT for private nodes.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from collections.abc import Callable


def _first_sorted(count: int) -> Callable[[list[str] | None], list[str]]:
    def pick(names: list[str] | None) -> list[str]:
        if not names:
            raise ValueError("GkeCluster: the region reported no zones that are UP; pass `zones` explicitly")
        return sorted(names)[:count]

    return pick
