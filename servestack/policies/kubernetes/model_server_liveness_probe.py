"""SSG028 kubernetes-model-server-liveness-probe: model servers have a liveness probe (split from retired SSG011).

The serving container (the leader's, for a LeaderWorkerSet: workers serve no HTTP) carries it;
without one, a hung engine keeps its GPUs and never restarts.
"""

from __future__ import annotations

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, ResourceRule, RuleContext
from servestack.policies.kubernetes.model_servers import has_probe, judge_servers
from servestack.policies.kubernetes.workloads import SERVING_TYPES

__all__ = ["RULE"]

_JUDGE = has_probe("livenessProbe")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    return judge_servers(r, _JUDGE)


RULE = ResourceRule(
    id="SSG028",
    name="kubernetes-model-server-liveness-probe",
    description="Model-server workloads have a liveness probe on the serving container.",
    config_schema={},
    defaults={},
    resource_types=SERVING_TYPES,
    check=check,
)
