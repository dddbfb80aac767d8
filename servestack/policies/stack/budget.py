"""Shared reading of the budget and the stack's cost for the budget rules."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from servestack.costing import CostReport, cost_graph
from servestack.costing.resources import Resource
from servestack.policies.base import RuleContext

__all__ = [
    "BUDGET_KEY",
    "BUDGET_SCHEMA",
    "NO_BUDGET",
    "budget_of",
    "budget_value",
    "money",
    "report_of",
    "unverifiable",
]

BUDGET_KEY: Final = "servestack:budgetMonthlyUsd"
"""Stack config key holding the stack's monthly budget in USD (written by `plan --write`)."""

BUDGET_SCHEMA = {
    "type": "number",
    "exclusiveMinimum": 0,
    "description": f"Monthly budget in USD; defaults to the stack's {BUDGET_KEY}.",
}

NO_BUDGET: Final = (
    f"no budget: set {BUDGET_KEY} in the stack config (plan --write does) or monthlyBudgetUsd in the "
    "budget-monthly-ceiling policy config; a stack without a budget fails closed (to run one without a budget on "
    "purpose, set budget-monthly-ceiling's enforcementLevel to advisory)"
)


def money(usd: float) -> str:
    return f"{usd:,.2f} USD"


def budget_value(value: object) -> float | None:
    """The budget a config value states: a finite number above zero, else None (NaN, Infinity, 0, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        return None
    return number


def budget_of(ctx: RuleContext) -> tuple[float | None, str | None]:
    """The budget and where it came from, (None, reason) when it is not a usable number, (None, None) when none.

    Non-finite and non-positive budgets are refused rather than compared: a NaN budget would make every
    comparison false and switch the rule off.
    """
    configured = ctx.config.get("monthlyBudgetUsd")
    if configured is not None:
        found = budget_value(configured)
        if found is None:
            return None, f"policy config: monthlyBudgetUsd {configured!r} is not a finite number above 0"
        return found, "monthlyBudgetUsd"
    raw = ctx.stack.values.get(BUDGET_KEY)
    if raw is None:
        return None, None
    found = budget_value(raw)
    if found is None:
        return None, f"stack config: {BUDGET_KEY} {raw!r} is not a finite number above 0"
    return found, BUDGET_KEY


_last_priced: tuple[str, CostReport] | None = None
"""The stack priced last in this process, keyed by its resources and stack config as text."""


def report_of(resources: Sequence[Resource], ctx: RuleContext) -> CostReport:
    """The stack's cost report, priced once per check.

    Every budget rule (and the accelerator cap) of a pack judges the same stack, each with its own copy of
    the resources, so the report of the last stack priced is kept and handed out again while the resources
    and the stack config are the same. The key is their full text, so any changed input prices afresh.
    """
    global _last_priced
    key = repr((list(resources), dict(ctx.stack.values)))
    if _last_priced is not None and _last_priced[0] == key:
        return _last_priced[1]
    report = cost_graph(resources, stack_config=ctx.stack.values)
    _last_priced = (key, report)
    return report


def unverifiable(report: CostReport) -> tuple[list[str], list[str]]:
    """Capacity the report could not price and no other budget rule reports: (unknown during preview, for good).

    Compute of groups that run (or may run) accelerators is left to budget-unpriced-resources, which names
    each resource; volumes, Cloud NAT and compute known to carry no accelerators are listed here.
    """
    covered = {(g.resource.urn, f"compute:{g.part}" if g.part else "compute") for g in report.unpriced_accelerators}
    preview: list[str] = []
    final: list[str] = []
    for line in report.unpriced_capacity:
        kind = line.item.split(":", 1)[0]
        if kind not in ("compute", "volumes", "nat") or line.key in covered:
            continue  # extras without a bundled price (public IPs, claims) are listed by costing, not judged
        text = f"{line.name} ({line.item}): {line.unknown_reason}"
        (preview if line.preview_unknown else final).append(text)
    return preview, final
