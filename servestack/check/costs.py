"""The cost breakdown `check` prints and `cost diff` compares: one line per priced resource plus totals.

Prices come from `servestack.costing` over the preview graph (catalog prices, each with its source);
this module only reshapes its report into plain records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from servestack.costing import CostedResource

if TYPE_CHECKING:
    from servestack.preview.model import PreviewResult

__all__ = ["CostLine", "CostSummary", "cents", "cost_summary", "summary_from_lines"]


CostLine = CostedResource
"""Monthly USD of one priced item of a resource: the cost engine's own line."""


def cents(usd: float | None) -> float | None:
    """A USD figure as JSON documents carry it: rounded to the cent, None (unknown) kept."""
    return None if usd is None else round(usd, 2)


@dataclass(frozen=True)
class CostSummary:
    """Totals of the known lines (USD/month); unknown lines are listed in `lines` and `notes`, never summed."""

    expected: float | None
    ceiling: float | None
    lines: list[CostLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def summary_from_lines(lines: Iterable[CostLine], notes: Iterable[str] = ()) -> CostSummary:
    """Totals as the sum of the known lines (None when no line is priced)."""
    lines = list(lines)
    exp = [ln.expected for ln in lines if ln.expected is not None]
    ceil = [ln.ceiling for ln in lines if ln.ceiling is not None]
    return CostSummary(sum(exp) if exp else None, sum(ceil) if ceil else None, lines, list(notes))


def cost_summary(preview: PreviewResult) -> CostSummary:
    """The preview graph's costs: the report the preview priced, else priced here from the bundled catalog."""
    from servestack.costing import cost_resources

    report = preview.costs if preview.costs is not None else cost_resources(
        preview.resources, stack_config=preview.config
    )
    lines = list(report.lines)
    notes = [f"{ln.name} ({ln.item}): {ln.unknown_reason}" for ln in report.unknowns]
    return CostSummary(expected=report.expected, ceiling=report.ceiling, lines=lines, notes=notes)
