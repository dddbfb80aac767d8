"""SSG049 kubernetes-pss-drop-all-capabilities (restricted): containers drop ALL capabilities."""

from __future__ import annotations

from servestack.costing.resources import contains_unknown
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    messages: list[str] = []
    for c in found:
        dropped = c.security("capabilities", "drop")
        if contains_unknown(dropped):
            complete = False
        elif not (isinstance(dropped, list) and "ALL" in dropped):
            messages.append(f"{c.label}: securityContext.capabilities.drop does not contain ALL")
    return messages, complete


RULE = pod_rule("SSG049", "kubernetes-pss-drop-all-capabilities",
                "Pod Security restricted: containers drop ALL capabilities.", judge)
