"""SSG001 allowed-accelerators: GPU node groups use only the accelerators (and instance types) allowed.

Without policy config the allowed set is the stack's own choice, `servestack:deployment` (accelerator and
instance type, plus a spot pool's `spotInstanceTypes`) or, for a multi-workload stack, every server's
deployment in `servestack:fleet`, so a hand edit that swaps the GPU shows up in review.
"""

from __future__ import annotations

from servestack.catalog import load_catalog
from servestack.costing.nodes import NODE_TYPES
from servestack.costing.resources import Resource
from servestack.errors import SpecError
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.common.nodes import node_group

__all__ = ["RULE"]


def _allowed(ctx: RuleContext) -> tuple[list[str] | None, list[str] | None, str]:
    accelerators = ctx.config.get("accelerators")
    instance_types = ctx.config.get("instanceTypes")
    if accelerators is None and instance_types is None:
        # The stack's own choice: every pool's accelerator and instance type (a fleet's pools may differ).
        stack = ctx.stack
        accelerators_chosen = list(stack.accelerators) or ([stack.accelerator] if stack.accelerator else [])
        types_chosen = list(stack.instance_types) or ([stack.instance_type] if stack.instance_type else [])
        source = "servestack:fleet" if "servestack:fleet" in stack.values else "servestack:deployment"
        return accelerators_chosen or None, types_chosen or None, source
    return accelerators, instance_types, "policy config"


def check(r: Resource, ctx: RuleContext) -> Outcome:
    accelerators, instance_types, source = _allowed(ctx)
    if accelerators is None and instance_types is None:
        return not_applicable("no allowed accelerators: set `accelerators` in the policy config")
    catalog = load_catalog()
    canonical: list[str] = []
    for name in accelerators or []:
        try:
            canonical.append(catalog.resolve_accelerator(str(name), field="accelerators"))
        except SpecError as exc:
            return violation(f"policy config: {exc}")
    group = node_group(r, ctx)
    if group.is_gpu is None:
        return not_applicable(f"instance type unknown during preview ({group.problem})")
    if not group.is_gpu:
        return not_applicable(f"{group.instance_type} is not a GPU instance type")
    messages: list[str] = []
    if instance_types is not None:
        for t in group.instance_types:
            if t not in instance_types:
                messages.append(f"instance type {t} is not allowed ({source}: {', '.join(map(str, instance_types))})")
    if accelerators is not None:
        if group.accelerator is None:
            messages.append(
                f"instance type {group.instance_type} is not in the catalog, so its accelerator cannot be checked "
                f"against {', '.join(canonical)}"
            )
        elif group.accelerator not in canonical:
            messages.append(
                f"accelerator {group.accelerator} ({group.instance_type}) is not allowed "
                f"({source}: {', '.join(canonical)})"
            )
    return violation(*messages) if messages else passed()


RULE = ResourceRule(
    id="SSG001",
    name="allowed-accelerators",
    description="GPU node groups and node pools use only allowed accelerators and instance types.",
    config_schema={
        "accelerators": {"type": "array", "items": {"type": "string"},
                         "description": "Allowed canonical accelerator ids (H100, A100-80GB, L4, ...)."},
        "instanceTypes": {"type": "array", "items": {"type": "string"},
                          "description": "Allowed GPU instance/machine types."},
    },
    defaults={},
    resource_types=NODE_TYPES,
    check=check,
)
