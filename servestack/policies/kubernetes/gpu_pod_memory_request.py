"""SSG033 kubernetes-gpu-pod-memory-request: containers that use GPUs request memory.

A GPU pod with no memory request is BestEffort or Burstable for memory: the kubelet evicts it first when
the node runs short, and the scheduler may pack it onto a node without the memory it needs.
"""

from __future__ import annotations

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, ResourceRule, RuleContext
from servestack.policies.kubernetes.gpu_pods import judge_request
from servestack.policies.kubernetes.workloads import WORKLOAD_TYPES

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    return judge_request(r, "memory")


RULE = ResourceRule(
    id="SSG033",
    name="kubernetes-gpu-pod-memory-request",
    description="Containers that request GPUs also request memory.",
    config_schema={},
    defaults={},
    resource_types=WORKLOAD_TYPES,
    check=check,
)
