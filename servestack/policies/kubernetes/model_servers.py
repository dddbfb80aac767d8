"""Which pod templates of a workload are model servers, for the kubernetes-model-server-* rules.

A model server is a Deployment, StatefulSet or LeaderWorkerSet whose pods ask for GPUs, tolerate the GPU
taint or run a known inference server image (the workers of a LeaderWorkerSet whose leader is one count too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import (
    GPU_RESOURCE,
    LEADER_WORKER_SET,
    PodTemplate,
    containers_of,
    is_model_server,
    pod_templates,
)

__all__ = ["gpu_limit", "serving_container", "judge_servers", "has_probe"]

Judge = Callable[[PodTemplate, list[str]], bool]
"""Adds messages for one model-server template; returns False when a value it needs is unknown."""


def gpu_limit(container: Any) -> Any:
    """The container's nvidia.com/gpu limit as a number, UNKNOWN, or None when absent/invalid."""
    value = lookup(container, "resources", "limits", GPU_RESOURCE)
    if is_unknown(value):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def serving_container(template: PodTemplate) -> Any:
    """The container that serves: the first one with a GPU limit, else the first; None without containers."""
    containers = containers_of(template)
    for c in containers:
        limit = gpu_limit(c)
        if not is_unknown(limit) and limit:
            return c
    return containers[0] if containers else None


def judge_servers(r: Resource, judge: Judge) -> Outcome:
    messages: list[str] = []
    complete = True
    servers = 0
    for template in pod_templates(r):
        if contains_unknown(lookup(template.template, "spec", "containers")):
            complete = False
            continue
        server = is_model_server(template)
        if server is None:
            complete = False
            continue
        if server or (r.type == LEADER_WORKER_SET and servers):
            servers += 1
            complete = judge(template, messages) and complete
    if messages:
        return violation(*messages)
    if not complete:
        return not_applicable("pod template unknown during preview")
    if servers == 0:
        return not_applicable("not a model server (no GPU request, GPU toleration or inference image)")
    return passed()


def has_probe(probe: str) -> Judge:
    """A judge that the serving container (not a multi-node worker) declares `probe` (livenessProbe,
    readinessProbe, ...); an unknown value during preview is not judged."""

    def judge(template: PodTemplate, messages: list[str]) -> bool:
        if template.role == "worker":
            return True
        server = serving_container(template)
        if server is None:
            return True
        value = lookup(server, probe)
        if is_unknown(value):
            return False
        if value is MISSING or value is None:
            name = lookup(server, "name")
            messages.append(f"{template.role} container {name if isinstance(name, str) else '?'} has no {probe}")
        return True

    return judge
