"""SSB002 budget-monthly-warning: warn once the ceiling passes a share of the budget."""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation
from servestack.policies.stack.budget import BUDGET_SCHEMA, budget_of, money, report_of, unverifiable

__all__ = ["RULE"]

DEFAULT_WARN_SHARE = 0.8


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    share = ctx.config.get("warnShare")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        return violation(f"policy config: warnShare {share!r} is not a number in (0, 1]")
    budget, source = budget_of(ctx)
    if budget is None:
        # budget-monthly-ceiling reports a missing or unusable budget; one finding is enough.
        return not_applicable(source or "no budget configured")
    report = report_of(resources, ctx)
    threshold = budget * share
    if report.ceiling > threshold:
        return violation(
            f"monthly ceiling {money(report.ceiling)} is {report.ceiling / budget:.0%} of the budget of "
            f"{money(budget)} ({source}), past the warning share of {share:.0%}"
        )
    preview, final = unverifiable(report)
    if preview or final:
        return not_applicable("prices unknown: " + "; ".join(preview + final))
    return passed()


RULE = StackRule(
    id="SSB002",
    name="budget-monthly-warning",
    description="The stack's monthly cost ceiling stays below a warning share of its budget.",
    config_schema={
        "monthlyBudgetUsd": BUDGET_SCHEMA,
        "warnShare": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": DEFAULT_WARN_SHARE,
                      "description": "Share of the budget past which the ceiling draws a warning."},
    },
    defaults={"warnShare": DEFAULT_WARN_SHARE},
    check=check,
)
