"""Running rules as pure functions and through the CrossGuard adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import unknown_checking_proxy

from servestack.costing.resources import Resource, as_resource
from servestack.policies.adapter import to_policy
from servestack.policies.base import Outcome, ResourceRule, Rule, StackRule, StackSettings

WIRE_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
WIRE_UNKNOWN_BOOL = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7"


def stack(environment: str = "prod", budget: float | None = 10000.0, cloud: str = "aws",
          accelerator: str = "L40S", instance_type: str = "g6e.xlarge", exposure: str | None = None,
          region: str = "us-east-1") -> StackSettings:
    config: dict[str, Any] = {
        "servestack:environment": environment,
        "servestack:deployment": json.dumps({"cloud": cloud, "accelerator": accelerator,
                                             "instanceType": instance_type}),
        f"{cloud}:region": region,
    }
    if budget is not None:
        config["servestack:budgetMonthlyUsd"] = str(budget)
    if exposure is not None:
        config["servestack:exposure"] = exposure
    return StackSettings.from_config(config)


def run(rule: Rule, target: Resource | Sequence[Resource], config: Mapping[str, Any] | None = None,
        settings: StackSettings | None = None) -> Outcome:
    ctx = rule.context(config, settings or stack())
    if isinstance(rule, ResourceRule):
        assert isinstance(target, Resource)
        return rule.validate(as_resource(target), ctx)
    assert isinstance(rule, StackRule) and not isinstance(target, Resource)
    return rule.validate([as_resource(r) for r in target], ctx)


def changed(r: Resource, path: Sequence[str | int], value: Any) -> Resource:
    """A copy of `r` with the input at `path` set to `value` (a deep copy; `r` is untouched)."""
    inputs = json.loads(json.dumps(r.inputs))
    node: Any = inputs
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return replace(r, inputs=inputs)


def removed(r: Resource, path: Sequence[str | int]) -> Resource:
    inputs = json.loads(json.dumps(r.inputs))
    node: Any = inputs
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return replace(r, inputs=inputs)


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def via_policy(rule: Rule, target: Resource | Sequence[Resource], config: Mapping[str, Any] | None = None,
               ) -> tuple[list[tuple[str, str | None]], str | None]:
    """Run the rule wrapped as a CrossGuard policy: (violations, not-applicable reason or None)."""
    policy: Any = to_policy(rule, "mandatory")
    found: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append((message, urn))

    try:
        if isinstance(target, Resource):
            provider = (PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(dict(target.provider)),
                                               "urn:prov", "default") if target.provider else None)
            args = ResourceValidationArgs(target.type, unknown_checking_proxy(json.loads(json.dumps(target.inputs))),
                                          target.urn, target.name, _opts(), provider, dict(config or {}))
            policy.validate(args, report)
        else:
            by_urn: dict[str, PolicyResource] = {}
            items = []
            for r in target:
                pr = PolicyResource(r.type, unknown_checking_proxy(json.loads(json.dumps(r.inputs))), r.urn, r.name,
                                    _opts(), None, None, [], {})
                by_urn[r.urn] = pr
                items.append((pr, r))
            for pr, r in items:
                pr.dependencies.extend(by_urn[d] for d in r.dependencies if d in by_urn)
            policy.validate(StackValidationArgs([pr for pr, _ in items], dict(config or {})), report)
    except _NotApplicableError as exc:
        return found, exc.reason or ""
    return found, None
