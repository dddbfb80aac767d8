"""Budget and guardrail rules for Pulumi resource graphs, and the two CrossGuard packs that hold them.

Rules are pure functions (`servestack.policies.base`), listed in `registry.RULES`; `packs` chooses each
pack's rules and levels; `adapter` (which imports pulumi_policy) turns them into CrossGuard policies.
"""

from __future__ import annotations

from servestack.policies.base import (
    LEVELS,
    Level,
    Outcome,
    ResourceRule,
    Rule,
    RuleContext,
    StackRule,
    StackSettings,
)
from servestack.policies.packs import BUDGET, GUARDRAILS, PACKS, PackSpec, pack
from servestack.policies.registry import RULES, rule_by_id, rule_by_name

__all__ = [
    "BUDGET",
    "GUARDRAILS",
    "LEVELS",
    "Level",
    "Outcome",
    "PACKS",
    "PackSpec",
    "RULES",
    "ResourceRule",
    "Rule",
    "RuleContext",
    "StackRule",
    "StackSettings",
    "pack",
    "rule_by_id",
    "rule_by_name",
]
