"""SSB001 budget-monthly-ceiling: the stack has a budget and its monthly ceiling stays within it."""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation
from servestack.policies.stack.budget import (
    BUDGET_SCHEMA,
    NO_BUDGET,
    budget_of,
    money,
    report_of,
    unverifiable,
)

__all__ = ["RULE"]


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    budget, source = budget_of(ctx)
    if budget is None:
        # Fail closed: a stack without a usable budget is a finding, never a rule that switched itself off.
        return violation(source if source is not None else NO_BUDGET)
    report = report_of(resources, ctx)
    notes = "; ".join(report.notes)
    if report.ceiling > budget:
        top = sorted((line for line in report.lines if line.ceiling), key=lambda x: -(x.ceiling or 0))[:3]
        items = ", ".join(f"{line.name} {line.item} {money(line.ceiling or 0)}" for line in top)
        return violation(
            f"monthly ceiling {money(report.ceiling)} exceeds the budget of {money(budget)} ({source}) by "
            f"{money(report.ceiling - budget)}; largest items: {items}" + (f"; {notes}" if notes else "")
        )
    preview, final = unverifiable(report)
    if final:
        return violation(
            f"the monthly ceiling cannot be checked against the budget of {money(budget)}: " + "; ".join(final)
        )
    if preview:
        return not_applicable("prices unknown during preview: " + "; ".join(preview))
    return passed()


RULE = StackRule(
    id="SSB001",
    name="budget-monthly-ceiling",
    description="The stack has a budget, and its monthly cost ceiling (every node group at its maximum for 730 h) "
    "is within it.",
    config_schema={"monthlyBudgetUsd": BUDGET_SCHEMA},
    defaults={},
    check=check,
)
