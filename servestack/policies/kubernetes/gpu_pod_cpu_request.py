"""SSG032 kubernetes-gpu-pod-cpu-request: containers that use GPUs request cpu.

A GPU pod with no cpu request is BestEffort or Burstable for cpu: the kubelet evicts it first when
the node runs short, and the scheduler may pack it onto a node without the cpu it needs.
"""

from __future__ import annotations

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, ResourceRule, RuleContext
from servestack.policies.kubernetes.gpu_pods import judge_request
from servestack.policies.kubernetes.workloads import WORKLOAD_TYPES

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    return judge_request(r, "cpu")


RULE = ResourceRule(
    id="SSG032",
    name="kubernetes-gpu-pod-cpu-request",
    description="Containers that request GPUs also request cpu.",
    config_schema={},
    defaults={},
    resource_types=WORKLOAD_TYPES,
    check=check,
)
