"""SSG026 kubernetes-model-server-gpu-limits: model servers limit GPUs (split from retired SSG011).

Without a GPU limit the pod lands on a GPU node without owning a device.
"""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext
from servestack.policies.kubernetes.model_servers import gpu_limit, judge_servers
from servestack.policies.kubernetes.workloads import GPU_RESOURCE, SERVING_TYPES, PodTemplate, containers_of

__all__ = ["RULE"]


def _judge(template: PodTemplate, messages: list[str]) -> bool:
    limits = [gpu_limit(c) for c in containers_of(template)]
    if any(is_unknown(v) for v in limits):
        return False
    if not any(isinstance(v, int | float) and v >= 1 for v in limits):
        messages.append(f"{template.role} template: no container sets resources.limits[{GPU_RESOURCE}]")
    return True


def check(r: Resource, ctx: RuleContext) -> Outcome:
    return judge_servers(r, _judge)


RULE = ResourceRule(
    id="SSG026",
    name="kubernetes-model-server-gpu-limits",
    description="Model-server workloads set a GPU limit.",
    config_schema={},
    defaults={},
    resource_types=SERVING_TYPES,
    check=check,
)
