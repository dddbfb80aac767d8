"""Pod Security Standards: baseline controls (mandatory) and restricted controls (advisory) over the pod
templates of every workload kind, with the allow-list of system DaemonSets that need host access."""

from __future__ import annotations

from typing import Any

import pytest

from servestack.costing.resources import Resource
from servestack.policies.kubernetes.pod_security import (
    allow_privilege_escalation,
    capabilities,
    drop_all_capabilities,
    host_namespaces,
    host_path_volumes,
    host_ports,
    privileged,
    run_as_non_root,
    seccomp,
)
from servestack.policies.kubernetes.pod_security.common import DEFAULT_ALLOWED_DAEMONSETS
from tests.policies.fixtures import deployment, pod
from tests.policies.helpers import WIRE_UNKNOWN, changed, removed, run, via_policy

RULES = [privileged.RULE, host_namespaces.RULE, host_path_volumes.RULE, capabilities.RULE, host_ports.RULE,
         run_as_non_root.RULE, allow_privilege_escalation.RULE, seccomp.RULE, drop_all_capabilities.RULE]
KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "LeaderWorkerSet"]
SPEC: dict[str, list[str | int]] = {
    "Pod": ["spec"],
    "CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
    "LeaderWorkerSet": ["spec", "leaderWorkerTemplate", "leaderTemplate", "spec"],
}
ROLE = {"LeaderWorkerSet": "leader "}


def spec_path(kind: str) -> list[str | int]:
    return SPEC.get(kind, ["spec", "template", "spec"])


def container_path(kind: str) -> list[str | int]:
    return [*spec_path(kind), "containers", 0]


def spec_role(kind: str) -> str:
    return "leader" if kind == "LeaderWorkerSet" else "pod"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_restricted_pods_pass(rule, kind: str) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, pod(kind)).status == "pass"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_servestack_model_server_passes(rule) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, deployment()).status == "pass"


# One case per rule: (rule, relative path, value, message with {c} = "<role>container app" and {s} = spec role).
CASES: list[tuple[Any, str, list[str | int], Any, str]] = [
    (privileged.RULE, "container", ["securityContext", "privileged"], True,
     "{c}: securityContext.privileged is true; privileged containers own the host"),
    (host_namespaces.RULE, "spec", ["hostNetwork"], True,
     "{s} spec: hostNetwork is true; pods must not share the host's namespaces"),
    (host_namespaces.RULE, "spec", ["hostPID"], True,
     "{s} spec: hostPID is true; pods must not share the host's namespaces"),
    (host_namespaces.RULE, "spec", ["hostIPC"], True,
     "{s} spec: hostIPC is true; pods must not share the host's namespaces"),
    (host_path_volumes.RULE, "spec", ["volumes"], [{"name": "root", "hostPath": {"path": "/"}}],
     "{s} spec: volumes[0] (root) mounts hostPath /; use a volume that is not the host's"),
    (capabilities.RULE, "container", ["securityContext", "capabilities", "add"], ["NET_BIND_SERVICE", "SYS_ADMIN"],
     "{c}: securityContext.capabilities.add has SYS_ADMIN, beyond the baseline set"),
    (host_ports.RULE, "container", ["ports"], [{"containerPort": 8000, "hostPort": 8000}],
     "{c}: ports hostPort 8000 binds a port on the node; use a Service"),
    (run_as_non_root.RULE, "container", ["securityContext", "runAsNonRoot"], False,
     "{c}: runAsNonRoot is not true (pod or container securityContext); the image may run as root"),
    (allow_privilege_escalation.RULE, "container", ["securityContext", "allowPrivilegeEscalation"], True,
     "{c}: securityContext.allowPrivilegeEscalation is not false; setuid binaries could gain privileges"),
    (seccomp.RULE, "container", ["securityContext", "seccompProfile"], {"type": "Unconfined"},
     "{c}: seccompProfile.type is Unconfined; set RuntimeDefault (pod or container securityContext)"),
    (drop_all_capabilities.RULE, "container", ["securityContext", "capabilities", "drop"], ["NET_RAW"],
     "{c}: securityContext.capabilities.drop does not contain ALL"),
]


@pytest.mark.parametrize("kind", ["Pod", "Deployment", "CronJob", "LeaderWorkerSet"])
@pytest.mark.parametrize(("rule", "where", "path", "value", "message"), CASES,
                         ids=[f"{c[0].name}-{c[2][-1]}" for c in CASES])
def test_one_property_fails_one_rule(rule, where: str, path: list[str | int], value: object,  # type: ignore[no-untyped-def]
                                     message: str, kind: str) -> None:
    base = container_path(kind) if where == "container" else spec_path(kind)
    bad = changed(pod(kind), [*base, *path], value)
    expected = message.format(c=f"{ROLE.get(kind, '')}container app", s=spec_role(kind))
    assert run(rule, bad).texts == [expected]
    # The change is judged by its own rule only.
    assert [r.name for r in RULES if run(r, bad).violated] == [rule.name]


def test_pod_level_settings_count_and_containers_override_them() -> None:
    base = pod("Deployment")
    c = container_path("Deployment")
    # The fixture sets runAsNonRoot and seccomp on the pod's securityContext only: that passes ...
    assert "runAsNonRoot" not in base.inputs["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert run(run_as_non_root.RULE, base).status == "pass" and run(seccomp.RULE, base).status == "pass"
    # ... and fail when neither pod nor container sets them.
    bare = removed(base, [*spec_path("Deployment"), "securityContext"])
    assert run(run_as_non_root.RULE, bare).violated and run(seccomp.RULE, bare).texts == [
        "container app: seccompProfile.type is not set; set RuntimeDefault (pod or container securityContext)"]
    container_only = changed(bare, [*c, "securityContext", "runAsNonRoot"], True)
    assert run(run_as_non_root.RULE, container_only).status == "pass"


def test_init_and_ephemeral_containers_are_judged() -> None:
    init = changed(pod("Job"), [*spec_path("Job"), "initContainers"],
                   [{"name": "fetch", "image": "busybox:1.36", "securityContext": {"privileged": True}}])
    assert run(privileged.RULE, init).texts == [
        "init container fetch: securityContext.privileged is true; privileged containers own the host"]
    assert "init container fetch: securityContext.allowPrivilegeEscalation is not false" in \
        run(allow_privilege_escalation.RULE, init).texts[0]


# -- allow-list ------------------------------------------------------------------------------------------

HOST_SPEC = {"containers": [{"name": "plugin", "image": "nvcr.io/nvidia/k8s-device-plugin:v0.17.1",
                             "securityContext": {"privileged": True}}],
             "volumes": [{"name": "dp", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}]}


def test_allowed_system_daemon_set_is_exempt() -> None:
    plugin = pod("DaemonSet", "nvidia-device-plugin", "kube-system", spec=HOST_SPEC)
    for rule in (privileged.RULE, host_path_volumes.RULE, run_as_non_root.RULE):
        assert run(rule, plugin).reason == "kube-system/nvidia-device-plugin is an allowed system DaemonSet"


def test_allow_list_matches_the_name_label_of_an_auto_named_daemon_set() -> None:
    plugin = removed(pod("DaemonSet", "plugin-ds", "kube-system", spec=HOST_SPEC,
                         metadata={"labels": {"app.kubernetes.io/name": "nvidia-device-plugin"}}),
                     ["metadata", "name"])
    assert run(host_path_volumes.RULE, plugin).status == "not_applicable"


@pytest.mark.parametrize(("kind", "namespace", "name"), [
    ("DaemonSet", "default", "nvidia-device-plugin"),   # the same name outside kube-system
    ("Deployment", "kube-system", "nvidia-device-plugin"),  # not a DaemonSet
    ("DaemonSet", "kube-system", "my-agent"),            # not on the list
])
def test_allow_list_is_narrow(kind: str, namespace: str, name: str) -> None:
    r = pod(kind, name, namespace, spec=HOST_SPEC)
    assert run(host_path_volumes.RULE, r).violated


def test_allow_list_is_configurable() -> None:
    agent = pod("DaemonSet", "my-agent", "monitoring", spec=HOST_SPEC)
    config = {"allowedSystemDaemonSets": [*DEFAULT_ALLOWED_DAEMONSETS, "monitoring/my-agent"]}
    assert run(privileged.RULE, agent, config).status == "not_applicable"
    plugin = pod("DaemonSet", "nvidia-device-plugin", "kube-system", spec=HOST_SPEC)
    assert run(privileged.RULE, plugin, {"allowedSystemDaemonSets": []}).violated
    assert run(privileged.RULE, plugin, {"allowedSystemDaemonSets": "kube-system/x"}).texts == [
        "policy config: allowedSystemDaemonSets 'kube-system/x' is not a list of \"namespace/name\" strings"]


# -- unknowns --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "where", "path"), [
    (privileged.RULE, "container", ["securityContext", "privileged"]),
    (host_namespaces.RULE, "spec", ["hostNetwork"]),
    (host_path_volumes.RULE, "spec", ["volumes"]),
    (capabilities.RULE, "container", ["securityContext", "capabilities", "add"]),
    (host_ports.RULE, "container", ["ports"]),
    (run_as_non_root.RULE, "container", ["securityContext", "runAsNonRoot"]),
    (allow_privilege_escalation.RULE, "container", ["securityContext", "allowPrivilegeEscalation"]),
    (seccomp.RULE, "container", ["securityContext", "seccompProfile"]),
    (drop_all_capabilities.RULE, "container", ["securityContext", "capabilities", "drop"]),
], ids=lambda v: v.name if hasattr(v, "name") else None)
def test_unknown_values_are_not_applicable(rule, where: str, path: list[str | int]) -> None:  # type: ignore[no-untyped-def]
    base = container_path("Deployment") if where == "container" else spec_path("Deployment")
    unknown = changed(pod("Deployment"), [*base, *path], WIRE_UNKNOWN)
    assert run(rule, unknown).status == "not_applicable"
    assert via_policy(rule, unknown)[1] == "pod template unknown during preview"


def test_unknown_spec_is_not_applicable() -> None:
    unknown: Resource = changed(pod("Deployment"), ["spec", "template", "spec"], WIRE_UNKNOWN)
    assert all(run(rule, unknown).status == "not_applicable" for rule in RULES)
