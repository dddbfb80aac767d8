"""The cheapest-stack selector: spec + catalog -> ranked feasible stacks and rejection reasons."""

from servestack.selector.plan import (
    MAX_PIPELINE_NODES,
    REASONS,
    Candidate,
    Layout,
    Plan,
    ReplicaPerformance,
    all_candidates,
    plan,
    pricing_combinations,
    replica_layouts,
)
from servestack.selector.validate import ResolvedPlacement, resolve_placement

__all__ = [
    "MAX_PIPELINE_NODES",
    "REASONS",
    "Candidate",
    "Layout",
    "Plan",
    "ReplicaPerformance",
    "ResolvedPlacement",
    "all_candidates",
    "plan",
    "pricing_combinations",
    "replica_layouts",
    "resolve_placement",
]
