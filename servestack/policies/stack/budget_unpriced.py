"""SSB005 budget-unpriced-resources: everything that runs (or may run) accelerators has a price.

A resource the cost engine cannot price adds nothing to the monthly ceiling, so without this rule an
unknown instance type, a region outside the bundled catalog or a launch template outside the graph would
pass the budget at a fraction of its bill. Each such resource is one finding, naming what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing import NodeGroup
from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, RuleContext, StackRule, passed, violation
from servestack.policies.stack.budget import report_of

__all__ = ["RULE"]


def _message(group: NodeGroup, reason: str, preview: bool) -> str:
    runs = "runs accelerators" if group.is_gpu else "may run accelerators"
    fix = (
        "the value is only known after apply, so the bill cannot be checked before it; give it literally"
        if preview
        else "use an instance type and region the bundled catalog prices (see `servestack catalog`)"
    )
    return (
        f"cannot price {group.kind} {group.label}: {reason}; it {runs}, so its cost is missing from the monthly "
        f"ceiling ({fix}, or set budget-unpriced-resources to advisory to accept it unpriced)"
    )


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    report = report_of(resources, ctx)
    messages: list[tuple[str, str | None]] = []
    for group in report.unpriced_accelerators:
        item = f"compute:{group.part}" if group.part else "compute"
        line = next((ln for ln in report.by_urn(group.resource.urn) if ln.item == item), None)
        reason = (line.unknown_reason if line is not None else None) or group.problem or "no price"
        preview = line.preview_unknown if line is not None else group.preview_unknown
        messages.append((_message(group, reason, preview), group.resource.urn))
    return violation(*messages) if messages else passed()


RULE = StackRule(
    id="SSB005",
    name="budget-unpriced-resources",
    description="Every resource that runs (or may run) accelerators can be priced from the bundled catalog.",
    config_schema={},
    defaults={},
    check=check,
)
