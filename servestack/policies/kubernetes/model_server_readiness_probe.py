"""SSG027 kubernetes-model-server-readiness-probe: model servers have a readiness probe (split from retired SSG011).

The serving container (the leader's, for a LeaderWorkerSet: workers serve no HTTP) carries it;
without one, traffic reaches a replica still loading weights.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext
from servestack.policies.kubernetes.model_servers import judge_servers, serving_container
from servestack.policies.kubernetes.workloads import SERVING_TYPES, PodTemplate

__all__ = ["RULE"]

_PROBE = "readinessProbe"


def _judge(template: PodTemplate, messages: list[str]) -> bool:
    if template.role == "worker":
        return True
    server = serving_container(template)
    if server is None:
        return True
    value = lookup(server, _PROBE)
    if is_unknown(value):
        return False
    if value is MISSING or value is None:
        name = lookup(server, "name")
        messages.append(f"{template.role} container {name if isinstance(name, str) else '?'} has no {_PROBE}")
    return True


def check(r: Resource, ctx: RuleContext) -> Outcome:
    return judge_servers(r, _judge)


RULE = ResourceRule(
    id="SSG027",
    name="kubernetes-model-server-readiness-probe",
    description="Model-server workloads have a readiness probe on the serving container.",
    config_schema={},
    defaults={},
    resource_types=SERVING_TYPES,
    check=check,
)
