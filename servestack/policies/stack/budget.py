"""Shared reading of the budget and the stack's cost for the budget rules."""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing import CostReport, cost_graph
from servestack.costing.resources import Resource
from servestack.policies.base import RuleContext

__all__ = ["budget_of", "report_of", "BUDGET_SCHEMA", "money", "unverifiable"]

BUDGET_SCHEMA = {
    "type": "number",
    "exclusiveMinimum": 0,
    "description": "Monthly budget in USD; defaults to the stack's servestack:budgetMonthlyUsd.",
}


def money(usd: float) -> str:
    return f"{usd:,.2f} USD"


def budget_of(ctx: RuleContext) -> tuple[float | None, str | None]:
    """The budget and where it came from, or (None, reason) when there is none or it is not a number."""
    configured = ctx.config.get("monthlyBudgetUsd")
    if configured is not None:
        if isinstance(configured, bool) or not isinstance(configured, int | float) or configured <= 0:
            return None, f"monthlyBudgetUsd {configured!r} is not a positive number"
        return float(configured), "monthlyBudgetUsd"
    if ctx.stack.budget_monthly_usd is not None:
        return ctx.stack.budget_monthly_usd, "servestack:budgetMonthlyUsd"
    return None, None


def report_of(resources: Sequence[Resource], ctx: RuleContext) -> CostReport:
    return cost_graph(resources, stack_config=ctx.stack.values)


def unverifiable(report: CostReport) -> tuple[list[str], list[str]]:
    """Node capacity the report could not price: (unknown during preview, unknown for good)."""
    preview: list[str] = []
    final: list[str] = []
    for line in report.unpriced_capacity:
        if line.item not in ("compute", "volumes", "nat"):
            continue  # extras without a bundled price (public IPs, claims) are listed by costing, not judged
        text = f"{line.name} ({line.item}): {line.unknown_reason}"
        (preview if line.preview_unknown else final).append(text)
    return preview, final
