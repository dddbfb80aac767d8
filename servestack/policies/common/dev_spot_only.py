"""SSB004 dev-spot-only: GPU capacity of development stacks runs on spot instances."""

from __future__ import annotations

from servestack.costing.nodes import NODE_TYPES
from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.common.nodes import capacity_text, node_group

__all__ = ["RULE"]


def _environment(r: Resource, ctx: RuleContext) -> object:
    configured = ctx.config.get("environment")
    if configured is not None:
        return configured
    if ctx.stack.environment is not None:
        return ctx.stack.environment
    # Without stack config (another program), the resource's own cost tag tells its environment.
    tag = r.get("tags", "environment") if r.type.startswith("aws:") else r.get("nodeConfig", "resourceLabels",
                                                                                  "environment")
    return tag


def check(r: Resource, ctx: RuleContext) -> Outcome:
    env = _environment(r, ctx)
    if is_unknown(env):
        return not_applicable("the environment tag is unknown during preview")
    dev_envs = ctx.config.get("developmentEnvironments") or ["dev"]
    if not isinstance(env, str) or env not in dev_envs:
        return not_applicable(f"not a development stack (environment {env!r})")
    group = node_group(r, ctx)
    if group.is_gpu is None or group.spot is None:
        return not_applicable(f"capacity or instance type unknown during preview ({group.problem})")
    if not group.is_gpu:
        return not_applicable(f"{group.instance_type} is not a GPU instance type")
    if not group.spot:
        return violation(
            f"development stack ({env}): GPU node group {r.name} ({group.instance_type}) must use spot capacity, "
            f"but {capacity_text(r)}"
        )
    return passed()


RULE = ResourceRule(
    id="SSB004",
    name="dev-spot-only",
    description="GPU node groups of development stacks use spot capacity.",
    config_schema={
        "environment": {"type": "string", "description": "Overrides servestack:environment of the stack."},
        "developmentEnvironments": {"type": "array", "items": {"type": "string"}, "default": ["dev"],
                                    "description": "Environment names that count as development."},
    },
    defaults={"developmentEnvironments": ["dev"]},
    resource_types=NODE_TYPES,
    check=check,
)
