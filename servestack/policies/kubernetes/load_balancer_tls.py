"""SSG025 kubernetes-load-balancer-tls: an internet-facing load balancer terminates TLS (split from retired SSG009).

Judged whether or not public exposure is allowed (kubernetes-load-balancer-internal judges that).
"""

from __future__ import annotations

from servestack.costing.resources import Resource
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.exposure import (
    AWS_SSL_CERT,
    INGRESS,
    INGRESS_TLS_ANNOTATIONS,
    SERVICE,
    Exposure,
    exposure,
)

__all__ = ["RULE"]


def check(r: Resource, ctx: RuleContext) -> Outcome:
    lb = exposure(r, ctx)
    if not isinstance(lb, Exposure):
        return lb
    if lb.internal:
        return not_applicable(f"internal {lb.kind}")
    if r.type == INGRESS:
        tls = r.get("spec", "tls")
        if (isinstance(tls, list) and tls) or any(lb.annotations.get(k) for k in INGRESS_TLS_ANNOTATIONS):
            return passed()
        return violation(f"public Ingress {r.name} has no TLS: set spec.tls or a managed certificate")
    if lb.annotations.get(AWS_SSL_CERT):
        return passed()
    if lb.cloud == "gcp":
        return violation(f"public Service {r.name} is a passthrough load balancer that cannot terminate TLS; "
                         "expose it through an Ingress or Gateway with a managed certificate")
    return violation(f"public Service {r.name} has no TLS: set {AWS_SSL_CERT} to an ACM certificate ARN")


RULE = ResourceRule(
    id="SSG025",
    name="kubernetes-load-balancer-tls",
    description="Internet-facing load balancers terminate TLS.",
    config_schema={},
    defaults={},
    resource_types=(SERVICE, INGRESS),
    check=check,
)
