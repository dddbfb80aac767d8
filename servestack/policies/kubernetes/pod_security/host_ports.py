"""SSG045 kubernetes-pss-host-ports (baseline): containers bind no host ports."""

from __future__ import annotations

from servestack.costing.resources import MISSING, is_unknown, lookup
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    messages: list[str] = []
    for c in found:
        ports = lookup(c.value, "ports")
        if is_unknown(ports):
            complete = False
            continue
        for port in ports if isinstance(ports, list) else []:
            host_port = lookup(port, "hostPort")
            if is_unknown(host_port):
                complete = False
            elif host_port not in (MISSING, None, 0, "0"):
                # The engine sends numbers as floats.
                shown = int(host_port) if isinstance(host_port, float) and host_port.is_integer() else host_port
                messages.append(f"{c.label}: ports hostPort {shown} binds a port on the node; use a Service")
    return messages, complete


RULE = pod_rule("SSG045", "kubernetes-pss-host-ports",
                "Pod Security baseline: containers bind no host ports.", judge)
