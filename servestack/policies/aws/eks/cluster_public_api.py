"""SSG029 aws-eks-cluster-public-api-restricted: a public EKS API endpoint is not open to the whole internet.

EKS makes the endpoint public when `endpointPublicAccess` is unset, and opens a public endpoint to
0.0.0.0/0 when `publicAccessCidrs` is unset. A private-only endpoint, or a public one limited to named
CIDRs, passes.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown
from servestack.policies.aws.views import EKS_CLUSTER_VIEW
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "OPEN_CIDRS"]

OPEN_CIDRS = ("0.0.0.0/0", "::/0")


def check(r: Resource, ctx: RuleContext) -> Outcome:
    public = EKS_CLUSTER_VIEW.read(r, "public_access")
    cidrs = EKS_CLUSTER_VIEW.read(r, "public_cidrs")
    if public.value is False or (isinstance(public.value, str) and public.value.lower() == "false"):
        return passed()
    limited = (isinstance(cidrs.value, list) and cidrs.value and not contains_unknown(cidrs.value)
               and not any(c in OPEN_CIDRS for c in cidrs.value))
    if limited:
        return passed()  # limited to named CIDRs, whether or not the endpoint ends up public
    if is_unknown(public.value):
        return not_applicable(f"{public.path} unknown during preview")
    if contains_unknown(cidrs.value):
        return not_applicable(f"{cidrs.path} unknown during preview")
    state = "not set (public by default)" if public.value is MISSING else "true"
    if not isinstance(cidrs.value, list) or not cidrs.value:
        return violation(f"{public.path} is {state} and {cidrs.path} is not set, so the cluster API is open to "
                         f"0.0.0.0/0; list the CIDRs that may reach it, or set {public.path} false")
    open_to = [c for c in cidrs.value if c in OPEN_CIDRS]
    if open_to:
        return violation(f"{public.path} is {state} and {cidrs.path} contains {', '.join(open_to)}: the cluster API "
                         "is open to the whole internet; list only the CIDRs that need it")
    return passed()


RULE = ResourceRule(
    id="SSG029",
    name="aws-eks-cluster-public-api-restricted",
    description="A public EKS API endpoint is limited to named CIDRs (never 0.0.0.0/0).",
    config_schema={},
    defaults={},
    resource_types=EKS_CLUSTER_VIEW.types,
    check=check,
)
