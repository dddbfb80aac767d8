"""SSG042 kubernetes-pss-host-namespaces (baseline): pods share no host namespace (network, PID, IPC)."""

from __future__ import annotations

from servestack.costing.resources import is_unknown, lookup
from servestack.policies.kubernetes.pod_security.common import pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]

_FIELDS = ("hostNetwork", "hostPID", "hostIPC")


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    messages: list[str] = []
    complete = True
    for field in _FIELDS:
        value = lookup(template.spec, field)
        if is_unknown(value):
            complete = False
        elif value is True:
            messages.append(f"{template.role} spec: {field} is true; pods must not share the host's namespaces")
    return messages, complete


RULE = pod_rule("SSG042", "kubernetes-pss-host-namespaces",
                "Pod Security baseline: pods set none of hostNetwork, hostPID, hostIPC.", judge)
