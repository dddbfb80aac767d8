"""SSG048 kubernetes-pss-seccomp-runtime-default (restricted): containers run under a seccomp profile.

RuntimeDefault or Localhost, set on the pod or on each container; a container's own profile wins.
"""

from __future__ import annotations

from servestack.costing.resources import MISSING, is_unknown, lookup
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]

_ALLOWED = ("RuntimeDefault", "Localhost")


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    pod_value = lookup(template.spec, "securityContext", "seccompProfile", "type")
    messages: list[str] = []
    for c in found:
        own = c.security("seccompProfile", "type")
        value = pod_value if own is MISSING or own is None else own
        if is_unknown(value):
            complete = False
        elif value not in _ALLOWED:
            shown = "not set" if value is MISSING or value is None else value
            messages.append(f"{c.label}: seccompProfile.type is {shown}; set RuntimeDefault (pod or container "
                            "securityContext)")
    return messages, complete


RULE = pod_rule("SSG048", "kubernetes-pss-seccomp-runtime-default",
                "Pod Security restricted: containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
                judge)
