"""SSG044 kubernetes-pss-capabilities (baseline): containers add no capability beyond the baseline set."""

from __future__ import annotations

from servestack.costing.resources import contains_unknown
from servestack.policies.kubernetes.pod_security.common import containers, pod_rule
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["RULE", "BASELINE_CAPABILITIES"]

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})


def judge(template: PodTemplate) -> tuple[list[str], bool]:
    found, complete = containers(template)
    messages: list[str] = []
    for c in found:
        added = c.security("capabilities", "add")
        if contains_unknown(added):
            complete = False
            continue
        extra = [a for a in (added if isinstance(added, list) else [])
                 if isinstance(a, str) and a.upper().removeprefix("CAP_") not in BASELINE_CAPABILITIES]
        if extra:
            messages.append(f"{c.label}: securityContext.capabilities.add has {', '.join(extra)}, beyond the "
                            "baseline set")
    return messages, complete


RULE = pod_rule("SSG044", "kubernetes-pss-capabilities",
                "Pod Security baseline: containers add only baseline capabilities.", judge)
