"""SSG051 aws-alb-http-listener-redirects-https: an internet-facing ALB's HTTP listener only redirects to HTTPS.

A stack rule: the load balancer a listener belongs to is another resource of the graph (a dependency of
the listener). pulumi-aws (`aws:lb`, `aws:alb`) and aws-native (`elasticloadbalancingv2`) both count.
"""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.aws.views import LISTENERS, LOAD_BALANCERS, NATIVE_LISTENER, NATIVE_LOAD_BALANCER, is_true
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation

__all__ = ["RULE"]


def _internet_facing_alb(lb: Resource) -> bool | None:
    """True for an internet-facing application load balancer; None when unknown."""
    kind = lb.get("type") if lb.type == NATIVE_LOAD_BALANCER else lb.get("loadBalancerType")
    if is_unknown(kind):
        return None
    if kind not in (MISSING, None, "application"):
        return False
    if lb.type == NATIVE_LOAD_BALANCER:
        scheme = lb.get("scheme")
        return None if is_unknown(scheme) else scheme in (MISSING, None, "internet-facing")
    internal = lb.get("internal")
    return None if is_unknown(internal) else not is_true(internal)


def _redirects_to_https(listener: Resource) -> bool | None:
    actions = listener.get("defaultActions")
    if contains_unknown(actions):
        return None
    target = "redirectConfig" if listener.type == NATIVE_LISTENER else "redirect"
    return isinstance(actions, list) and any(
        str(lookup(a, "type")).lower() == "redirect" and lookup(a, target, "protocol") == "HTTPS" for a in actions)


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    by_urn = {r.urn: r for r in resources}
    messages: list[tuple[str, str | None]] = []
    pending: list[str] = []
    judged = 0
    for listener in (r for r in resources if r.type in LISTENERS):
        protocol = listener.get("protocol")
        if is_unknown(protocol):
            pending.append(f"{listener.name}: protocol unknown during preview")
            continue
        if protocol not in (MISSING, None, "HTTP"):
            continue
        balancers = [by_urn[d] for d in listener.dependencies if d in by_urn and by_urn[d].type in LOAD_BALANCERS]
        if not balancers:
            pending.append(f"{listener.name}: its load balancer is not in this stack")
            continue
        facing = [_internet_facing_alb(lb) for lb in balancers]
        if None in facing:
            pending.append(f"{listener.name}: load balancer scheme unknown during preview")
            continue
        if not any(facing):
            continue
        judged += 1
        redirects = _redirects_to_https(listener)
        if redirects is None:
            pending.append(f"{listener.name}: defaultActions unknown during preview")
        elif not redirects:
            messages.append((f"HTTP listener {listener.name} on internet-facing load balancer {balancers[0].name} "
                             "serves plain HTTP; make its default action a redirect to HTTPS", listener.urn))
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if judged == 0:
        return not_applicable("no HTTP listener on an internet-facing application load balancer")
    return passed()


RULE = StackRule(
    id="SSG051",
    name="aws-alb-http-listener-redirects-https",
    description="HTTP listeners of internet-facing application load balancers redirect to HTTPS.",
    config_schema={},
    defaults={},
    check=check,
)
