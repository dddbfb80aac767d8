"""Containers that ask for GPUs, and the shared judgement of their CPU/memory requests."""

from __future__ import annotations

from typing import Any

from servestack.costing.resources import MISSING, Resource, is_unknown, lookup
from servestack.policies.base import Outcome, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import GPU_RESOURCE, containers_of, pod_templates

__all__ = ["requests_gpu", "judge_request"]


def requests_gpu(container: Any) -> bool | None:
    """Whether the container asks for nvidia.com/gpu (limit or request, > 0); None when unknown."""
    for kind in ("limits", "requests"):
        value = lookup(container, "resources", kind, GPU_RESOURCE)
        if is_unknown(value):
            return None
        if value is MISSING or value is None:
            continue
        if isinstance(value, str):
            return value.strip() not in ("", "0")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value > 0
    return False


def judge_request(r: Resource, resource_name: str) -> Outcome:
    """Every GPU container requests `resource_name` (cpu or memory); a limit alone counts: Kubernetes copies
    a limit into an absent request."""
    messages: list[str] = []
    pending: list[str] = []
    gpu_containers = 0
    for template in pod_templates(r):
        listed = lookup(template.template, "spec", "containers")
        if is_unknown(listed) or (isinstance(listed, list) and any(is_unknown(c) for c in listed)):
            pending.append(f"{template.role} containers unknown during preview")
            continue
        for c in containers_of(template):
            gpu = requests_gpu(c)
            if gpu is None:
                pending.append("GPU request unknown during preview")
                continue
            if not gpu:
                continue
            gpu_containers += 1
            request = lookup(c, "resources", "requests", resource_name)
            limit = lookup(c, "resources", "limits", resource_name)
            if is_unknown(request) or is_unknown(limit):
                continue  # set, value still unknown
            if request in (MISSING, None, "") and limit in (MISSING, None, ""):
                name = lookup(c, "name")
                role = "" if template.role == "pod" else f"{template.role} "
                messages.append(f"{role}container {name if isinstance(name, str) else '?'} requests "
                                f"{GPU_RESOURCE} but no {resource_name} (resources.requests.{resource_name}); "
                                "without it the pod is evicted first under node pressure")
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if gpu_containers == 0:
        return not_applicable("no container requests GPUs")
    return passed()
