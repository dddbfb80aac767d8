"""The shape every rule has: pure functions from resources to one of three outcomes.

A rule never imports `pulumi_policy`; `servestack.policies.adapter` wraps rules into CrossGuard policies
and `servestack.policies.packs` chooses which rules a pack holds and at which level.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from servestack.costing.resources import Resource, is_unknown

__all__ = [
    "Level",
    "LEVELS",
    "Outcome",
    "StackSettings",
    "ResourceOptions",
    "RuleContext",
    "ResourceRule",
    "StackRule",
    "Rule",
    "passed",
    "violation",
    "not_applicable",
]

Level = Literal["advisory", "mandatory", "remediate", "disabled"]
LEVELS: tuple[Level, ...] = ("advisory", "mandatory", "remediate", "disabled")


@dataclass(frozen=True, slots=True)
class Outcome:
    """pass, violation (one or more messages, each optionally naming a resource URN), or not applicable."""

    status: Literal["pass", "violation", "not_applicable"]
    messages: tuple[tuple[str, str | None], ...] = ()
    reason: str | None = None

    @property
    def violated(self) -> bool:
        return self.status == "violation"

    @property
    def texts(self) -> list[str]:
        return [m for m, _ in self.messages]


def passed() -> Outcome:
    return Outcome("pass")


def violation(*messages: str | tuple[str, str | None]) -> Outcome:
    """A violation; each message is a string, or (message, urn) in a stack rule."""
    items = tuple(m if isinstance(m, tuple) else (m, None) for m in messages)
    if not items:
        raise ValueError("a violation needs at least one message")
    return Outcome("violation", messages=items)


def not_applicable(reason: str) -> Outcome:
    return Outcome("not_applicable", reason=reason)


def _parse(value: Any) -> Any:
    # Pulumi hands config to programs and analyzers as strings; objects and numbers are JSON text.
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass(frozen=True, slots=True)
class StackSettings:
    """What the stack's own config says (servestack keys and the provider region), when it is available.

    CrossGuard hands a policy only the policy-pack config; the Pulumi engine additionally passes the stack's
    config to a Python policy pack in the `PULUMI_CONFIG` environment variable, which pulumi_policy loads
    into the Pulumi runtime config before each analysis (see `adapter.stack_settings_from_runtime`).
    """

    environment: str | None = None
    budget_monthly_usd: float | None = None
    cloud: str | None = None
    accelerator: str | None = None
    instance_type: str | None = None
    exposure: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    accelerators: tuple[str, ...] = ()
    """Every server's accelerator (one for a single-workload stack; a fleet's pools may differ)."""
    instance_types: tuple[str, ...] = ()
    """Every server's instance type, in `servestack:fleet` order."""
    """Every fully qualified key (`servestack:environment`, `aws:region`, ...) with parsed values."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StackSettings:
        """From fully qualified stack config keys; values may be Pulumi's strings or parsed values."""
        values = {str(k): _parse(v) for k, v in config.items()}
        deployments = _deployments(values)
        deployment = deployments[0] if deployments else {}
        budget = values.get("servestack:budgetMonthlyUsd")
        env = values.get("servestack:environment")
        exposure = values.get("servestack:exposure")
        return cls(
            environment=env if isinstance(env, str) else None,
            budget_monthly_usd=float(budget) if isinstance(budget, int | float) and not isinstance(budget, bool)
            else None,
            cloud=_str_or_none(deployment.get("cloud")),
            accelerator=_str_or_none(deployment.get("accelerator")),
            instance_type=_str_or_none(deployment.get("instanceType")),
            exposure=exposure if isinstance(exposure, str) else None,
            values=values,
            accelerators=_distinct(d.get("accelerator") for d in deployments),
            # A spot pool may also launch the equivalent types its deployment lists (`spotInstanceTypes`).
            instance_types=_distinct(t for d in deployments for t in _instance_types_of(d)),
        )

    def region(self, cloud: str) -> str | None:
        value = self.values.get(f"{cloud}:region")
        return value if isinstance(value, str) else None


def _deployments(values: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """`servestack:deployment`, or every server's deployment of `servestack:fleet` (a multi-workload stack)."""
    single = values.get("servestack:deployment")
    if isinstance(single, Mapping):
        return [single]
    fleet = values.get("servestack:fleet")
    servers = fleet.get("servers") if isinstance(fleet, Mapping) else None
    if not isinstance(servers, list):
        return []
    return [s["deployment"] for s in servers if isinstance(s, Mapping) and isinstance(s.get("deployment"), Mapping)]


def _instance_types_of(deployment: Mapping[str, Any]) -> list[object]:
    alternates = deployment.get("spotInstanceTypes")
    return [deployment.get("instanceType"), *(alternates if isinstance(alternates, list) else [])]


def _distinct(values: Iterable[object]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and v))


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class ResourceOptions:
    """The resource options a rule may judge, as the analyzer protocol passes them (0 or None: not set)."""

    create_timeout_s: float | None = None
    """customTimeouts.create in seconds."""
    update_timeout_s: float | None = None
    """customTimeouts.update in seconds."""


@dataclass(frozen=True, slots=True)
class RuleContext:
    """The policy's config (pack defaults merged with `--policy-pack-config`), the stack's settings and the
    resource options of the judged resources, by URN (empty when the caller has none)."""

    config: Mapping[str, Any] = field(default_factory=dict)
    stack: StackSettings = field(default_factory=StackSettings)
    options: Mapping[str, ResourceOptions] = field(default_factory=dict)

    def options_of(self, urn: str) -> ResourceOptions:
        return self.options.get(urn) or ResourceOptions()


@dataclass(frozen=True, slots=True)
class _RuleBase:
    id: str
    """Stable id, never reused (SSB = budget family, SSG = guardrail family)."""
    name: str
    """Kebab-case policy name: what `--policy-pack-config` keys on."""
    description: str
    config_schema: Mapping[str, Mapping[str, Any]]
    """JSON-schema properties of the rule's config (without enforcementLevel)."""
    defaults: Mapping[str, Any]
    """Config values used when the policy config leaves a key out."""

    def context(self, config: Mapping[str, Any] | None, stack: StackSettings | None = None,
                options: Mapping[str, ResourceOptions] | None = None) -> RuleContext:
        merged = dict(self.defaults)
        if config:
            merged.update({k: v for k, v in config.items() if k != "enforcementLevel"})
        return RuleContext(config=merged, stack=stack or StackSettings(), options=dict(options or {}))


@dataclass(frozen=True, slots=True)
class ResourceRule(_RuleBase):
    """Judges one resource at a time; `resource_types` empty means every type is offered to it."""

    resource_types: tuple[str, ...]
    check: Callable[[Resource, RuleContext], Outcome]

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types

    def validate(self, resource: Resource, ctx: RuleContext) -> Outcome:
        if not self.applies_to(resource.type):
            return not_applicable(f"{self.name} does not judge {resource.type}")
        return self.check(resource, ctx)


@dataclass(frozen=True, slots=True)
class StackRule(_RuleBase):
    """Judges the whole resource graph (budgets, cross-resource relations)."""

    check: Callable[[Sequence[Resource], RuleContext], Outcome]

    def validate(self, resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
        return self.check(resources, ctx)


Rule = ResourceRule | StackRule


def unknown_in(*values: object) -> bool:
    """True when any of the values is a preview unknown (the rule is then not applicable)."""
    return any(is_unknown(v) for v in values)
