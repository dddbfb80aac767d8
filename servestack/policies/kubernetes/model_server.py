"""SSG011 kubernetes-model-server-gpu-limits-probes: model servers limit GPUs and have health probes.

A model server is a Deployment, StatefulSet or LeaderWorkerSet whose pods ask for GPUs, tolerate the
GPU taint or run a known inference server image. Without a GPU limit the pod lands on a GPU node without
owning a device; without readiness and liveness probes traffic reaches a replica still loading weights.
"""

from __future__ import annotations

from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import (
    GPU_RESOURCE,
    SERVING_TYPES,
    PodTemplate,
    containers_of,
    is_model_server,
    pod_templates,
)

__all__ = ["RULE", "gpu_limit"]

_PROBES = ("readinessProbe", "livenessProbe")


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


def _judge(template: PodTemplate, messages: list[str]) -> bool:
    """Adds messages for one model-server template; False when something is unknown."""
    containers = containers_of(template)
    limits = [gpu_limit(c) for c in containers]
    if any(is_unknown(v) for v in limits):
        return False
    if not any(isinstance(v, int | float) and v >= 1 for v in limits):
        messages.append(f"{template.role} template: no container sets resources.limits[{GPU_RESOURCE}]")
    if template.role == "worker":
        return True  # workers of a multi-node replica serve no HTTP; the leader carries the probes
    server = next((c for c, v in zip(containers, limits, strict=True) if v), containers[0] if containers else None)
    if server is None:
        return True
    for probe in _PROBES:
        value = lookup(server, probe)
        if is_unknown(value):
            return False
        if value is MISSING or value is None:
            name = lookup(server, "name")
            messages.append(f"{template.role} container {name if isinstance(name, str) else '?'} has no {probe}")
    return True


def check(r: Resource, ctx: RuleContext) -> Outcome:
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
        if server or (r.type == "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet" and servers):
            servers += 1
            complete = _judge(template, messages) and complete
    if messages:
        return violation(*messages)
    if not complete:
        return not_applicable("pod template unknown during preview")
    if servers == 0:
        return not_applicable("not a model server (no GPU request, GPU toleration or inference image)")
    return passed()


RULE = ResourceRule(
    id="SSG011",
    name="kubernetes-model-server-gpu-limits-probes",
    description="Model-server workloads set GPU limits and readiness/liveness probes.",
    config_schema={},
    defaults={},
    resource_types=SERVING_TYPES,
    check=check,
)
