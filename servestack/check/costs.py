"""The cost breakdown `check` prints and `cost diff` compares: one line per priced resource plus totals.

Prices come from `servestack.costing` over the preview graph (catalog prices, each with its source);
this module only reshapes its report into plain records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from servestack.costing import CostedResource, Showback
from servestack.errors import SpecError

if TYPE_CHECKING:
    from servestack.preview.model import PreviewResource, PreviewResult

__all__ = [
    "CostLine",
    "CostSummary",
    "Owner",
    "StackCostSettings",
    "cents",
    "cost_summary",
    "showback_json",
    "stack_cost_settings",
    "summary_from_lines",
]


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
    showback: Showback | None = None
    """Each workload's share of the totals (the shared cluster split by GPU cost, docs/costing.md); None when
    the graph has no `workload` tags or the totals are unknown (a split of a partial sum would look cheap)."""
    owners: dict[str, Owner] = field(default_factory=dict)
    """The owner tags (`team`, `cost-center`) each workload's resources carry, by workload."""

    @property
    def workloads(self) -> int:
        """How many workloads the showback splits the stack's cost between (0 without showback)."""
        return len(self.showback.shares) if self.showback is not None else 0


@dataclass(frozen=True)
class Owner:
    """Who pays for a workload: the `team` and `cost-center` tags on its resources (None when untagged)."""

    team: str | None
    cost_center: str | None


# Where resources keep their tags or labels, by provider (as the cost engine's showback reads them).
_TAG_PATHS: tuple[tuple[str, ...], ...] = (
    ("tags",), ("labels",), ("resourceLabels",), ("nodeConfig", "resourceLabels"), ("metadata", "labels"),
)


def _tags(resource: PreviewResource) -> Iterable[Mapping[str, Any]]:
    for path in _TAG_PATHS:
        value: Any = resource.inputs
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping):
            yield value


def owners_of(resources: Iterable[PreviewResource]) -> dict[str, Owner]:
    """Each workload's owner, from the first of its resources that names a team or cost center."""
    found: dict[str, Owner] = {}
    for resource in resources:
        for tags in _tags(resource):
            workload = tags.get("workload")
            if not isinstance(workload, str) or workload in found:
                continue
            team, center = tags.get("team"), tags.get("cost-center")
            if isinstance(team, str) or isinstance(center, str):
                found[workload] = Owner(team if isinstance(team, str) else None,
                                        center if isinstance(center, str) else None)
    return found


def showback_json(summary: CostSummary) -> dict[str, Any] | None:
    """The `showback` block of `check --json` and `cost diff --json` (docs/costing.md): per workload its owner
    and its GPU, direct, shared-share and total USD per month, expected and ceiling."""
    show = summary.showback
    if show is None:
        return None

    def usd(expected: float, ceiling: float) -> dict[str, float | None]:
        return {"expected": cents(expected), "ceiling": cents(ceiling)}

    workloads: dict[str, Any] = {}
    for share in show.shares:
        owner = summary.owners.get(share.workload, Owner(None, None))
        workloads[share.workload] = {
            "team": owner.team,
            "cost_center": owner.cost_center,
            "gpu_usd": usd(share.gpu_expected, share.gpu_ceiling),
            "direct_usd": usd(share.direct_expected, share.direct_ceiling),
            "shared_usd": usd(share.shared_expected, share.shared_ceiling),
            "total_usd": usd(share.expected, share.ceiling),
        }
    return {"rule": show.rule, "shared_usd": usd(show.shared_expected, show.shared_ceiling), "workloads": workloads}


def summary_from_lines(lines: Iterable[CostLine], notes: Iterable[str] = ()) -> CostSummary:
    """Totals as the sum of the known lines (None when no line is priced)."""
    lines = list(lines)
    exp = [ln.expected for ln in lines if ln.expected is not None]
    ceil = [ln.ceiling for ln in lines if ln.ceiling is not None]
    return CostSummary(sum(exp) if exp else None, sum(ceil) if ceil else None, lines, list(notes))


def cost_summary(preview: PreviewResult) -> CostSummary:
    """The preview graph's costs: the report the preview priced, else priced here from the bundled catalog.

    Totals are None when anything that runs (or may run) accelerators has no price: never a partial sum.
    """
    from servestack.costing import cost_resources

    report = preview.costs if preview.costs is not None else cost_resources(
        preview.resources, stack_config=preview.config
    )
    lines = list(report.lines)
    notes = [f"{ln.name} ({ln.item}): {ln.unknown_reason}" for ln in report.unknowns] + list(report.notes)
    unpriced = report.unpriced_accelerators
    if unpriced:
        # A total without the accelerators is not the bill: say "unknown" rather than a figure that looks cheap.
        names = ", ".join(g.label for g in unpriced)
        notes.insert(0, f"totals unknown: {names} run(s) or may run accelerators but cannot be priced")
        return CostSummary(expected=None, ceiling=None, lines=lines, notes=notes)
    show = report.showback if report.showback is not None and report.showback.shares else None
    return CostSummary(expected=report.expected, ceiling=report.ceiling, lines=lines, notes=notes, showback=show,
                       owners=owners_of(preview.resources) if show is not None else {})


@dataclass(frozen=True)
class StackCostSettings:
    """The stack config keys the budget pack and the cost engine read, validated before any check runs."""

    budget_usd: float | None
    """`servestack:budgetMonthlyUsd`, None when the stack sets none (the budget pack then reports it)."""
    commitment_purchased: bool
    """`servestack:commitmentPurchased`: the plan's 1y/3y commitment is bought, so it is priced as such."""


def _pulumi_value(value: object) -> object:
    # The engine hands stack config to a policy pack as strings, which the pack reads as JSON; judge the same value.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def stack_cost_settings(config: Mapping[str, Any]) -> StackCostSettings:
    """Read and validate the cost keys of a stack's config (`StackConfig.raw`: fully qualified keys, YAML values).

    A NaN, infinite, zero, negative or non-numeric budget would switch the budget rule off (NaN compares false
    with everything) and cannot be written as JSON, so it is bad input: `SpecError` naming the key (exit 2).
    """
    from servestack.costing.shape import COMMITMENT_PURCHASED_KEY
    from servestack.policies.stack.budget import BUDGET_KEY, budget_value

    budget: float | None = None
    raw = config.get(BUDGET_KEY)
    if raw is not None:
        value = _pulumi_value(raw)
        budget = budget_value(value)
        if budget is None:
            raise SpecError(f"stack config: {BUDGET_KEY}", value,
                            "a finite number of USD per month above 0 (or leave the key out, which the budget "
                            "pack reports as a missing budget)")
    flag = _pulumi_value(config.get(COMMITMENT_PURCHASED_KEY, False))
    if not isinstance(flag, bool):
        raise SpecError(f"stack config: {COMMITMENT_PURCHASED_KEY}", flag,
                        "true once the plan's 1y/3y commitment is bought, else false")
    return StackCostSettings(budget_usd=budget, commitment_purchased=flag)
