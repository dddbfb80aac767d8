"""SSG043 kubernetes-pss-host-path-volumes (baseline): pods mount no hostPath volumes."""

from __future__ import annotations

from servestack.costing.resources import MISSING, is_unknown, lookup
from servestack.policies.kubernetes.pod_security.common import pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE"]


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    volumes = lookup(template.spec, "volumes")
    if is_unknown(volumes):
        return [], False
    messages: list[str] = []
    complete = True
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        host_path = lookup(volume, "hostPath")
        if is_unknown(host_path):
            complete = False
        elif host_path is not MISSING and host_path is not None:
            name = lookup(volume, "name")
            path = lookup(host_path, "path")
            messages.append(f"{template.role} spec: volumes[{i}] ({name if isinstance(name, str) else '?'}) mounts "
                            f"hostPath {path if isinstance(path, str) else '?'}; use a volume that is not the host's")
    return messages, complete


RULE = pod_rule("SSG043", "kubernetes-pss-host-path-volumes",
                "Pod Security baseline: pods mount no hostPath volumes.", judge)
