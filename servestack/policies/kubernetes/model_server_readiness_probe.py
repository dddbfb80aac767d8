"""SSG027 kubernetes-model-server-readiness-probe: model servers have a readiness probe (split from retired SSG011).

The serving container (the leader's, for a LeaderWorkerSet: workers serve no HTTP) carries it;
without one, traffic reaches a replica still loading weights.
"""

from __future__ import annotations

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, ResourceRule, RuleContext
from servestack.policies.kubernetes.model_servers import has_probe, judge_servers
from servestack.policies.kubernetes.workloads import SERVING_TYPES

__all__ = ["RULE"]

_JUDGE = has_probe("readinessProbe")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    return judge_servers(r, _JUDGE)


RULE = ResourceRule(
    id="SSG027",
    name="kubernetes-model-server-readiness-probe",
    description="Model-server workloads have a readiness probe on the serving container.",
    config_schema={},
    defaults={},
    resource_types=SERVING_TYPES,
    check=check,
)
