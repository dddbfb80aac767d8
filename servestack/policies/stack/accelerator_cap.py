"""SSB003 max-accelerators: the accelerators a stack can scale to stay under a cap."""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation
from servestack.policies.stack.budget import report_of

__all__ = ["RULE", "DEFAULT_MAX_ACCELERATORS"]

DEFAULT_MAX_ACCELERATORS = 64
"""Eight 8-GPU nodes: above this, a stack should say so in its policy config."""


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    cap = ctx.config.get("maxAccelerators")
    if isinstance(cap, float) and cap.is_integer():
        cap = int(cap)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        return violation(f"policy config: maxAccelerators {cap!r} is not a whole number >= 0")
    report = report_of(resources, ctx)
    total = 0
    parts: list[str] = []
    pending: list[str] = []
    for group in report.node_groups:
        if group.is_gpu is False:
            continue
        if group.is_gpu is None or group.nodes_max is None or group.accelerators_per_node is None:
            reason = group.problem or "instance type not in the catalog"
            if group.preview_unknown or group.is_gpu is None:
                pending.append(f"{group.resource.name}: {reason}")
                continue
            return violation(f"{group.resource.name}: cannot count its accelerators ({reason})")
        count = group.accelerators_per_node * group.nodes_max
        total += count
        parts.append(f"{group.resource.name} {group.nodes_max} x {group.accelerators_per_node} {group.accelerator}")
    if total > cap:
        return violation(f"the stack can scale to {total} accelerators ({'; '.join(parts)}), above the cap of {cap}")
    if pending:
        return not_applicable("accelerator counts unknown during preview: " + "; ".join(pending))
    return passed()


RULE = StackRule(
    id="SSB003",
    name="max-accelerators",
    description="The accelerators all GPU node groups can scale to stay within a per-stack cap.",
    config_schema={
        "maxAccelerators": {"type": "integer", "minimum": 0, "default": DEFAULT_MAX_ACCELERATORS,
                            "description": "Most accelerators the stack may run at its maximum size."},
    },
    defaults={"maxAccelerators": DEFAULT_MAX_ACCELERATORS},
    check=check,
)
