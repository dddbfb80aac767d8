"""SSG046 kubernetes-pss-run-as-non-root (restricted): every container runs with runAsNonRoot true.

Set on the pod (`securityContext.runAsNonRoot`) or on each container; a container setting false wins.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, is_unknown, lookup
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    pod_value = lookup(template.spec, "securityContext", "runAsNonRoot")
    messages: list[str] = []
    for c in found:
        own = c.security("runAsNonRoot")
        value = pod_value if own is MISSING or own is None else own
        if is_unknown(value):
            complete = False
        elif value is not True:
            messages.append(f"{c.label}: runAsNonRoot is not true (pod or container securityContext); the "
                            "image may run as root")
    return messages, complete


RULE = pod_rule("SSG046", "kubernetes-pss-run-as-non-root",
                "Pod Security restricted: containers run with runAsNonRoot true.", judge)
