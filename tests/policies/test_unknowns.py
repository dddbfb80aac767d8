"""A preview holds unknown values: no guardrail may raise on one or turn a passing resource into a violation.

For every known-good fixture, every input (each leaf and each subtree) is replaced in turn by a preview
unknown, and every guardrail that judges the resource (or the graph) must still pass or say "not
applicable".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from servestack.costing.resources import UNKNOWN, Resource, as_resources
from servestack.policies import GUARDRAILS, ResourceRule, StackRule, StackSettings
from tests.costing.graphs import TAGS
from tests.policies.fixtures import GCP_PLAN, hardened_aws, hardened_gcp, pod
from tests.policies.helpers import run, stack
from tests.policies.test_cluster_rules import NATIVE_EKS, NATIVE_NG
from tests.policies.test_edge_rules import ALB, GPU_VM, HTTP, NATIVE_ECR, NATIVE_LT, NATIVE_VM, PUBLIC_TLS

# The hand-written extras carry no tags of their own: the default provider's tags (stack config) cover them.
AWS_SETTINGS = StackSettings.from_config({**stack(budget=10**6, exposure="public").values,
                                          "aws:defaultTags": json.dumps({"tags": TAGS})})
GCP_SETTINGS = stack(cloud="gcp", accelerator="L4", instance_type=GCP_PLAN.instance_type, region="us-central1",
                     budget=10**6)
EXTRA = [GPU_VM, NATIVE_VM, NATIVE_LT, NATIVE_ECR, NATIVE_EKS, NATIVE_NG, PUBLIC_TLS, ALB, HTTP,
         *(pod(kind, f"w-{kind.lower()}") for kind in ("Pod", "DaemonSet", "Job", "CronJob", "LeaderWorkerSet"))]
GRAPHS = {"aws": (as_resources(hardened_aws() + EXTRA), AWS_SETTINGS),
          "gcp": (as_resources(hardened_gcp()), GCP_SETTINGS)}


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


def _with_unknown(r: Resource, path: tuple[str | int, ...]) -> Resource:
    def swap(node: Any, rest: tuple[str | int, ...]) -> Any:
        if not rest:
            return UNKNOWN
        head, tail = rest[0], rest[1:]
        if isinstance(node, dict):
            return {k: (swap(v, tail) if k == head else v) for k, v in node.items()}
        return [swap(v, tail) if i == head else v for i, v in enumerate(node)]

    return replace(r, inputs=swap(r.inputs, path))


def test_fixtures_pass_every_guardrail() -> None:
    for graph, settings in GRAPHS.values():
        for rule, _level in GUARDRAILS.rules():
            if isinstance(rule, StackRule):
                assert not run(rule, graph, settings=settings).violated, rule.name
            else:
                for r in graph:
                    if rule.applies_to(r.type):
                        assert not run(rule, r, settings=settings).violated, (rule.name, r.name)


@pytest.mark.parametrize("cloud", sorted(GRAPHS))
def test_an_unknown_anywhere_is_never_a_violation(cloud: str) -> None:
    graph, settings = GRAPHS[cloud]
    resource_rules = [r for r, _ in GUARDRAILS.rules() if isinstance(r, ResourceRule)]
    stack_rules = [r for r, _ in GUARDRAILS.rules() if isinstance(r, StackRule)]
    failures: list[tuple[str, str, str]] = []
    mutations = 0
    for index, resource in enumerate(graph):
        judges = [rule for rule in resource_rules if rule.applies_to(resource.type)]
        for path in _paths(resource.inputs):
            mutated = _with_unknown(resource, path)
            mutations += 1
            for rule in judges:
                if run(rule, mutated, settings=settings).violated:
                    failures.append((rule.name, resource.name, ".".join(map(str, path))))
            new_graph = [*graph[:index], mutated, *graph[index + 1:]]
            for rule in stack_rules:
                if run(rule, new_graph, settings=settings).violated:
                    failures.append((rule.name, resource.name, ".".join(map(str, path))))
    assert mutations > 200
    assert failures == []
