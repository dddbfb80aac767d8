"""CrossGuard wrapping: servestack rules as `pulumi_policy` policies.

Stack config inside a policy: CrossGuard hands a policy only its policy-pack config and the stack's tags.
The Pulumi engine starts a Python policy pack with the stack's config in the `PULUMI_CONFIG` environment
variable (the same JSON map a program receives; pulumi/sdk `constructEnv` in analyzer_plugin.go) and
pulumi_policy copies it into the Pulumi runtime config before every Analyze/AnalyzeStack call. So rules
read `servestack:budgetMonthlyUsd`, `servestack:environment`, `servestack:deployment`, `servestack:exposure`
and `aws:region`/`gcp:region` from there (`stack_settings_from_runtime`). When a key is absent, a rule
falls back to its policy config (e.g. `monthlyBudgetUsd`), and is not applicable when neither is known.
A driver running the pack outside the engine passes stack config the same way (`PULUMI_CONFIG`) or through
`pulumi.runtime.set_all_config`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from servestack.costing.resources import Resource, normalize
from servestack.policies.base import Level, Outcome, ResourceOptions, ResourceRule, Rule, StackRule, StackSettings
from servestack.policies.packs import PackSpec

__all__ = [
    "build_policies",
    "to_policy",
    "stack_settings_from_runtime",
    "resource_from_args",
    "resources_from_stack_args",
    "options_from",
]


def stack_settings_from_runtime() -> StackSettings:
    """The analysed stack's config as the engine passed it (PULUMI_CONFIG and the runtime config)."""
    values: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    values.update(pulumi.runtime.config.CONFIG.get())
    return StackSettings.from_config(values)


def _provider_inputs(provider: Any) -> dict[str, Any] | None:
    if provider is None:
        return None
    props = normalize(provider.props)
    return props if isinstance(props, dict) else None


def _seconds(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else None


def options_from(opts: Any) -> ResourceOptions:
    """The judged options of a `PolicyResourceOptions` (None when the engine sent none)."""
    timeouts = getattr(opts, "custom_timeouts", None) if opts is not None else None
    return ResourceOptions(
        create_timeout_s=_seconds(getattr(timeouts, "create_seconds", None)),
        update_timeout_s=_seconds(getattr(timeouts, "update_seconds", None)),
    )


def resource_from_args(args: ResourceValidationArgs) -> Resource:
    inputs = normalize(args.props)
    return Resource(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        inputs=inputs if isinstance(inputs, dict) else {},
        provider=_provider_inputs(args.provider),
        parent=args.opts.parent if args.opts is not None else None,
    )


def _from_policy_resource(r: PolicyResource) -> Resource:
    inputs = normalize(r.props)
    return Resource(
        urn=r.urn,
        type=r.resource_type,
        name=r.name,
        inputs=inputs if isinstance(inputs, dict) else {},
        dependencies=tuple(d.urn for d in r.dependencies),
        provider=_provider_inputs(r.provider),
        parent=r.parent.urn if r.parent is not None else None,
    )


def resources_from_stack_args(args: StackValidationArgs) -> list[Resource]:
    return [_from_policy_resource(r) for r in args.resources]


def _deliver(outcome: Outcome, report: ReportViolation, not_applicable: Callable[[str | None], None]) -> None:
    if outcome.status == "violation":
        for message, urn in outcome.messages:
            report(message, urn)
    elif outcome.status == "not_applicable":
        not_applicable(outcome.reason)


def _schema(rule: Rule) -> PolicyConfigSchema | None:
    if not rule.config_schema:
        return None
    return PolicyConfigSchema(properties={k: dict(v) for k, v in rule.config_schema.items()})


def _config(raw: Mapping[str, Any]) -> dict[str, Any]:
    plain = normalize(raw)
    return plain if isinstance(plain, dict) else {}


def to_policy(rule: Rule, level: Level) -> Policy:
    """One rule as a CrossGuard policy at `level` (the policy config may still change the level)."""
    enforcement = EnforcementLevel(level)
    if isinstance(rule, ResourceRule):
        resource_rule = rule

        def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if not resource_rule.applies_to(args.resource_type):
                return
            ctx = resource_rule.context(_config(args.get_config()), stack_settings_from_runtime(),
                                        {args.urn: options_from(args.opts)})
            _deliver(resource_rule.validate(resource_from_args(args), ctx), report, args.not_applicable)

        return ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=validate_resource,
            enforcement_level=enforcement,
            config_schema=_schema(rule),
            tags=[rule.id],
        )
    stack_rule: StackRule = rule

    def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
        ctx = stack_rule.context(_config(args.get_config()), stack_settings_from_runtime(),
                                 {r.urn: options_from(r.opts) for r in args.resources})
        _deliver(stack_rule.validate(resources_from_stack_args(args), ctx), report, args.not_applicable)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate_stack,
        enforcement_level=enforcement,
        config_schema=_schema(rule),
        tags=[rule.id],
    )


def build_policies(spec: PackSpec) -> list[Policy]:
    """The pack's policies at their default levels, ready for `PolicyPack(policies=...)`."""
    return [to_policy(rule, level) for rule, level in spec.rules()]
