"""SSG041 kubernetes-pss-privileged (baseline): no privileged containers (full access to the host)."""

from __future__ import annotations

from servestack.costing.resources import is_unknown
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    messages: list[str] = []
    for c in found:
        value = c.security("privileged")
        if is_unknown(value):
            complete = False
        elif value is True:
            messages.append(f"{c.label}: securityContext.privileged is true; privileged containers own the host")
    return messages, complete


RULE = pod_rule("SSG041", "kubernetes-pss-privileged",
                "Pod Security baseline: containers are not privileged.", judge)
