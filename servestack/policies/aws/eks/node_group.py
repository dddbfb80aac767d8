"""SSG006 aws-eks-node-group-private-subnets: node groups run only in subnets that give no public IPs.

A stack rule: the subnets a node group uses are other resources of the graph (its dependencies).
"""

from __future__ import annotations

from collections.abc import Sequence

from servestack.costing.nodes import AWS_SUBNET, EKS_NODE_GROUP
from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation

__all__ = ["RULE"]


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    by_urn = {r.urn: r for r in resources}
    messages: list[tuple[str, str | None]] = []
    pending: list[str] = []
    judged = 0
    for group in (r for r in resources if r.type == EKS_NODE_GROUP):
        subnets = [by_urn[d] for d in group.dependencies if d in by_urn and by_urn[d].type == AWS_SUBNET]
        if not subnets:
            pending.append(f"{group.name}: its subnets are not in this stack")
            continue
        judged += 1
        for subnet in subnets:
            public = subnet.get("mapPublicIpOnLaunch")
            if is_unknown(public):
                pending.append(f"{group.name}: {subnet.name}.mapPublicIpOnLaunch unknown during preview")
            elif public is True:
                messages.append((f"node group {group.name} runs in subnet {subnet.name}, which maps public IPs "
                                 "on launch; use private subnets behind NAT", group.urn))
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if judged == 0:
        return not_applicable("no EKS node groups")
    return passed()


RULE = StackRule(
    id="SSG006",
    name="aws-eks-node-group-private-subnets",
    description="EKS node groups run in private subnets (no public IP mapped on launch).",
    config_schema={},
    defaults={},
    check=check,
)
