"""Showback: each workload's share of a stack's monthly cost, by the owner tags its resources carry.

A line belongs to a workload when its resource carries that workload's `workload` tag or label (AWS tags,
GCP labels, a GKE node pool's resource labels, a Kubernetes object's labels, or the labels of the namespace a
Kubernetes object lives in). Everything else -- network, NAT, control plane, system nodes, registry, add-ons --
is shared. The shared cost is split in proportion to each workload's GPU cost (its accelerator node groups'
compute lines): the workload that makes the cluster big pays most of what keeps it running. The expected and
ceiling figures are split separately, each by the GPU cost of the same kind. See docs/costing.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servestack.costing.engine import CostedResource
    from servestack.costing.nodes import NodeGroup
    from servestack.costing.resources import Resource

__all__ = ["SHOWBACK_RULE", "WORKLOAD_TAG", "Showback", "WorkloadShare", "showback_of"]

WORKLOAD_TAG = "workload"
SHOWBACK_RULE = "shared cost split in proportion to each workload's GPU cost"
_NAMESPACE = "kubernetes:core/v1:Namespace"
# Where a resource keeps its tags or labels, by provider.
_TAG_PATHS: tuple[tuple[str, ...], ...] = (
    ("tags",), ("labels",), ("resourceLabels",), ("nodeConfig", "resourceLabels"), ("metadata", "labels"),
)


@dataclass(frozen=True, slots=True)
class WorkloadShare:
    """One workload's monthly USD: what its own resources cost, and its share of the shared resources."""

    workload: str
    direct_expected: float
    direct_ceiling: float
    gpu_expected: float
    """Of the direct cost, the GPU node groups' compute (the weight of the shared split)."""
    gpu_ceiling: float
    shared_expected: float
    shared_ceiling: float

    @property
    def expected(self) -> float:
        return self.direct_expected + self.shared_expected

    @property
    def ceiling(self) -> float:
        return self.direct_ceiling + self.shared_ceiling

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "expected": round(self.expected, 2),
            "ceiling": round(self.ceiling, 2),
            "direct": {"expected": round(self.direct_expected, 2), "ceiling": round(self.direct_ceiling, 2)},
            "gpu": {"expected": round(self.gpu_expected, 2), "ceiling": round(self.gpu_ceiling, 2)},
            "shared": {"expected": round(self.shared_expected, 2), "ceiling": round(self.shared_ceiling, 2)},
        }


@dataclass(frozen=True, slots=True)
class Showback:
    """Every workload's share; the shares add up to the report's known totals."""

    shares: tuple[WorkloadShare, ...]
    shared_expected: float
    """Monthly USD of the lines no workload owns."""
    shared_ceiling: float
    rule: str = SHOWBACK_RULE

    def share(self, workload: str) -> WorkloadShare:
        for item in self.shares:
            if item.workload == workload:
                return item
        raise KeyError(f"no workload {workload!r}; workloads: {', '.join(s.workload for s in self.shares)}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "shared": {"expected": round(self.shared_expected, 2), "ceiling": round(self.shared_ceiling, 2)},
            "workloads": [s.as_dict() for s in self.shares],
        }


def _tag(value: object) -> str | None:
    if isinstance(value, Mapping):
        found = value.get(WORKLOAD_TAG)
        if isinstance(found, str) and found:
            return found
    return None


def _own_workload(r: Resource) -> str | None:
    for path in _TAG_PATHS:
        found = _tag(r.get(*path))
        if found is not None:
            return found
    return None


def _namespace_workloads(resources: Iterable[Resource]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in resources:
        if r.type != _NAMESPACE:
            continue
        name, workload = r.get("metadata", "name"), _own_workload(r)
        if isinstance(name, str) and workload is not None:
            out[name] = workload
    return out


def workload_of(r: Resource, namespaces: Mapping[str, str]) -> str | None:
    """The workload a resource belongs to (None: shared)."""
    own = _own_workload(r)
    if own is not None:
        return own
    namespace = r.get("metadata", "namespace")
    return namespaces.get(namespace) if isinstance(namespace, str) else None


def _split(total: float, weights: Mapping[str, float]) -> dict[str, float]:
    whole = sum(weights.values())
    if whole <= 0:
        # No GPU cost to weigh by (all unknown or none): an equal split, so the shares still add up.
        return {w: total / len(weights) for w in weights}
    return {w: total * weight / whole for w, weight in weights.items()}


def showback_of(
    lines: Sequence[CostedResource], node_groups: Sequence[NodeGroup], resources: Sequence[Resource]
) -> Showback:
    """Each workload's direct cost and share of the shared cost (see the module doc); known lines only."""
    by_urn = {r.urn: r for r in resources}
    namespaces = _namespace_workloads(resources)
    gpu_urns = {g.resource.urn for g in node_groups if g.may_run_accelerators}
    direct: dict[str, list[float]] = {}
    gpu: dict[str, list[float]] = {}
    shared = [0.0, 0.0]
    for line in lines:
        if line.expected is None or line.ceiling is None:
            continue
        r = by_urn.get(line.urn)
        owner = workload_of(r, namespaces) if r is not None else None
        if owner is None:
            shared[0] += line.expected
            shared[1] += line.ceiling
            continue
        mine = direct.setdefault(owner, [0.0, 0.0])
        mine[0] += line.expected
        mine[1] += line.ceiling
        weight = gpu.setdefault(owner, [0.0, 0.0])
        if line.urn in gpu_urns and line.item.startswith("compute"):
            weight[0] += line.expected
            weight[1] += line.ceiling
    if not direct:
        return Showback(shares=(), shared_expected=shared[0], shared_ceiling=shared[1])
    names = sorted(direct)
    expected = _split(shared[0], {w: gpu[w][0] for w in names})
    ceiling = _split(shared[1], {w: gpu[w][1] for w in names})
    shares = tuple(
        WorkloadShare(w, direct[w][0], direct[w][1], gpu[w][0], gpu[w][1], expected[w], ceiling[w]) for w in names
    )
    return Showback(shares=shares, shared_expected=shared[0], shared_ceiling=shared[1])
