"""SSG047 kubernetes-pss-allow-privilege-escalation (restricted): allowPrivilegeEscalation is false."""

from __future__ import annotations

from servestack.costing.resources import is_unknown
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    messages: list[str] = []
    for c in found:
        value = c.security("allowPrivilegeEscalation")
        if is_unknown(value):
            complete = False
        elif value is not False:
            messages.append(f"{c.label}: securityContext.allowPrivilegeEscalation is not false; setuid binaries "
                            "could gain privileges")
    return messages, complete


RULE = pod_rule("SSG047", "kubernetes-pss-allow-privilege-escalation",
                "Pod Security restricted: containers set allowPrivilegeEscalation false.", judge)
