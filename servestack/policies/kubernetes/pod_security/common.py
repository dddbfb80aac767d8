"""What the Pod Security Standards rules share: containers of a pod template, effective security context,
and the allow-list of system DaemonSets that need host access (device plugins, CNI, kube-proxy).

An allow-listed DaemonSet is named "namespace/name"; a DaemonSet's name is its `metadata.name`, else its
`app.kubernetes.io/name` label, else the Pulumi resource name (Pulumi auto-names from it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import WORKLOAD_TYPES, PodTemplate, namespace, pod_templates

__all__ = [
    "DEFAULT_ALLOWED_DAEMONSETS",
    "Container",
    "containers",
    "pod_rule",
    "TemplateJudge",
]

DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
DEFAULT_ALLOWED_DAEMONSETS = [
    "kube-system/nvidia-device-plugin",
    "kube-system/nvidia-device-plugin-daemonset",
    "kube-system/nvidia-gpu-device-plugin",
    "kube-system/nvidia-driver-installer",
    "kube-system/nvidia-dcgm-exporter",
    "kube-system/dcgm-exporter",
    "kube-system/aws-efa-k8s-device-plugin",
    "kube-system/aws-efa-k8s-device-plugin-daemonset",
    "kube-system/aws-node",
    "kube-system/kube-proxy",
    "kube-system/ebs-csi-node",
    "kube-system/efs-csi-node",
    "kube-system/eks-pod-identity-agent",
]
_CONFIG_SCHEMA = {
    "allowedSystemDaemonSets": {
        "type": "array", "items": {"type": "string"}, "default": DEFAULT_ALLOWED_DAEMONSETS,
        "description": "System DaemonSets (namespace/name) exempt from Pod Security rules: they need host access.",
    },
}
_KINDS = (("initContainers", "init container"), ("containers", "container"),
          ("ephemeralContainers", "ephemeral container"))


@dataclass(frozen=True, slots=True)
class Container:
    template: PodTemplate
    kind: str
    """container, init container or ephemeral container."""
    value: Any

    @property
    def label(self) -> str:
        name = lookup(self.value, "name")
        role = "" if self.template.role == "pod" else f"{self.template.role} "
        return f"{role}{self.kind} {name if isinstance(name, str) else '?'}"

    def security(self, *path: str) -> Any:
        return lookup(self.value, "securityContext", *path)


def containers(template: PodTemplate) -> tuple[list[Container], bool]:
    """Every container of the template, and False when a list is unknown during a preview."""
    out: list[Container] = []
    complete = True
    for key, kind in _KINDS:
        listed = lookup(template.template, "spec", key)
        if is_unknown(listed):
            complete = False
            continue
        for c in listed if isinstance(listed, list) else []:
            if is_unknown(c):
                complete = False
                continue
            out.append(Container(template, kind, c))
    return out, complete


TemplateJudge = Callable[[PodTemplate], tuple[list[str], bool]]
"""Messages for one pod template, and False when a value it needs is unknown."""


def _daemon_set_name(r: Resource) -> Any:
    name = r.get("metadata", "name")
    if name is MISSING or name is None:
        name = r.get("metadata", "labels", "app.kubernetes.io/name")
    if name is MISSING or name is None:
        name = r.name
    return name


def _exempt(r: Resource, ctx: RuleContext) -> str | None:
    if r.type != DAEMON_SET:
        return None
    allowed = ctx.config.get("allowedSystemDaemonSets")
    ns, name = namespace(r), _daemon_set_name(r)
    if is_unknown(ns) or is_unknown(name) or not isinstance(allowed, list):
        return None
    key = f"{ns}/{name}"
    return key if key in allowed else None


def _check(judge: TemplateJudge) -> Callable[[Resource, RuleContext], Outcome]:
    def check(r: Resource, ctx: RuleContext) -> Outcome:
        allowed = ctx.config.get("allowedSystemDaemonSets")
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            return violation(f"policy config: allowedSystemDaemonSets {allowed!r} is not a list of "
                             "\"namespace/name\" strings")
        exempt = _exempt(r, ctx)
        if exempt is not None:
            return not_applicable(f"{exempt} is an allowed system DaemonSet")
        messages: list[str] = []
        complete = True
        for template in pod_templates(r):
            if contains_unknown(template.spec) and not isinstance(template.spec, dict):
                complete = False
                continue
            found, known = judge(template)
            messages += found
            complete = complete and known
        if messages:
            return violation(*messages)
        if not complete:
            return not_applicable("pod template unknown during preview")
        return passed()

    return check


def pod_rule(rule_id: str, name: str, description: str, judge: TemplateJudge) -> ResourceRule:
    """A Pod Security rule over every workload kind's pod templates, with the system DaemonSet allow-list."""
    return ResourceRule(
        id=rule_id,
        name=name,
        description=description,
        config_schema=_CONFIG_SCHEMA,
        defaults={"allowedSystemDaemonSets": DEFAULT_ALLOWED_DAEMONSETS},
        resource_types=WORKLOAD_TYPES,
        check=_check(judge),
    )
