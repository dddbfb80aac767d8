"""SSG024 kubernetes-load-balancer-internal: load balancers are internal unless public exposure is allowed.

Split from retired SSG009. Judges Services of type LoadBalancer and Ingresses.
"""

from __future__ import annotations

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, ResourceRule, RuleContext, passed, violation
from servestack.policies.kubernetes.exposure import (
    ALLOW_PUBLIC_SCHEMA,
    AWS_SCHEME,
    GKE_LB_TYPE,
    INGRESS,
    SERVICE,
    Exposure,
    allow_public,
    exposure,
)

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    lb = exposure(r, ctx)
    if not isinstance(lb, Exposure):
        return lb
    if lb.internal or allow_public(ctx):
        return passed()
    hint = (f"annotate {AWS_SCHEME}: internal (EKS) or {GKE_LB_TYPE}: Internal (GKE)" if r.type == SERVICE
            else "use an internal ingress class")
    return violation(f"{lb.kind} {r.name} is internet-facing; {hint}, or allow public exposure "
                     "(allowPublic in the policy config, or servestack:exposure: public)")


RULE = ResourceRule(
    id="SSG024",
    name="kubernetes-load-balancer-internal",
    description="Load balancers are internal unless public exposure is allowed.",
    config_schema=ALLOW_PUBLIC_SCHEMA,
    defaults={},
    resource_types=(SERVICE, INGRESS),
    check=check,
)
