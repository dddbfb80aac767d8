"""Pieces every Kubernetes component shares: child options, security contexts, field-name casing, waits."""

import math
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

__all__ = [
    "SERVER_PORT",
    "PART_OF",
    "TIMEOUT_ANNOTATION",
    "await_options",
    "timeout_annotation",
    "child_opts",
    "camelize",
    "restricted_container_security",
    "restricted_pod_security",
]

SERVER_PORT = 8000
PART_OF = {"app.kubernetes.io/part-of": "servestack"}
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
"""The Kubernetes provider's per-object await timeout; policy packs read it where resource options are not visible."""
_UID = 1000


def child_opts(
    component: pulumi.ComponentResource,
    name: str,
    kubeconfig: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions | None,
) -> pulumi.ResourceOptions:
    """Children are parented to the component, use its provider, and wait for what the component waits for.

    `depends_on` is copied to every child (not only the component) so each Helm release and object lists the
    cluster's system capacity among its own dependencies; the engine and the policy packs see it per resource.
    """
    depends_on = opts.depends_on if opts is not None and opts.depends_on is not None else None
    if kubeconfig is None:
        return pulumi.ResourceOptions(parent=component, depends_on=depends_on)
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=component))
    return pulumi.ResourceOptions(parent=component, provider=provider, depends_on=depends_on)


def await_options(
    base: pulumi.ResourceOptions, create_s: int, update_s: int | None = None, **extra: Any
) -> pulumi.ResourceOptions:
    """`base` plus create and update timeouts (update defaults to create), rounded up to whole minutes."""
    timeouts = pulumi.CustomTimeouts(create=_minutes(create_s), update=_minutes(update_s or create_s))
    return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(custom_timeouts=timeouts, **extra))


def _minutes(seconds: int) -> str:
    return f"{math.ceil(seconds / 60)}m"


def timeout_annotation(timeout_s: int) -> dict[str, str]:
    """The same wait as an annotation, in the whole minutes `await_options` rounds to."""
    return {TIMEOUT_ANNOTATION: str(math.ceil(timeout_s / 60) * 60)}


def restricted_pod_security() -> dict[str, Any]:
    """Pod-level settings of the `restricted` Pod Security Standard (the serving namespace enforces it)."""
    return {
        "run_as_non_root": True,
        "run_as_user": _UID,
        "run_as_group": _UID,
        "fs_group": _UID,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def restricted_container_security() -> dict[str, Any]:
    return {
        "allow_privilege_escalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }


def camelize(value: Any) -> Any:
    """Kubernetes field names for CustomResource bodies, which get no SDK name translation."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            keep = "/" in key or "." in key  # label keys and resource names stay as they are
            out[key if keep else _camel(key)] = camelize(item)
        return out
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)
