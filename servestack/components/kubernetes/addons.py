"""Cluster add-ons a model deployment relies on: KEDA, Prometheus (with the stack's alerting rules), the NVIDIA
DCGM exporter, LeaderWorkerSet, the GPU and EFA device plugins, and the stack's Grafana dashboard ConfigMap.

Versions come from servestack.versions, keyed by the cluster's Kubernetes version. Annotations are evaluated at
import (no `from __future__ import annotations`): the component provider host reads them.
"""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import yaml

from servestack.components._common import GPU_LABEL, GPU_TAINT_KEY
from servestack.components.config import check_image
from servestack.components.kubernetes._shared import PART_OF, child_opts, restricted_container_security
from servestack.versions import DEFAULT_KUBERNETES_VERSION, ChartPin, addon_versions

__all__ = [
    "ServingAddons",
    "ServingAddonsArgs",
    "NvidiaDevicePlugin",
    "NvidiaDevicePluginArgs",
    "PROMETHEUS_URL",
    "MONITORING_NAMESPACE",
    "DCGM_EXPORTER",
    "SYSTEM_POOL",
]

PROMETHEUS_URL = "http://prometheus-server.servestack-monitoring.svc.cluster.local:80"
MONITORING_NAMESPACE = "servestack-monitoring"
DCGM_EXPORTER = ("kube-system", "dcgm-exporter")
"""Namespace and DaemonSet name of the DCGM exporter: it reads the GPUs through the host, so the guardrails
pack's Pod Security rules exempt it by this name (allowedSystemDaemonSets)."""
SYSTEM_POOL = {"servestack.io/pool": "system"}
"""Node label of the system node group/pool: add-ons select it so they never take GPU capacity."""
_GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}


def _versions(component: str, requested: object) -> Any:
    try:
        return addon_versions(str(requested))
    except ValueError as exc:
        raise ValueError(f"{component}: {exc}") from None


def _release(
    resource_name: str,
    release_name: str,
    pin: ChartPin,
    namespace: str,
    values: dict[str, Any] | None,
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A pinned Helm chart installed into its own namespace."""
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=pin.chart,
        version=pin.version,
        repository_opts={"repo": pin.repository} if pin.repository else None,
        namespace=namespace,
        create_namespace=True,
        values=values,
        opts=opts,
    )


class ServingAddonsArgs(TypedDict):
    """Inputs of the cluster add-ons a model deployment relies on."""

    kubernetes_version: NotRequired[str]
    """Kubernetes minor version of the cluster (e.g. 1.33); picks every chart version (default 1.33)."""
    leader_worker_set: NotRequired[bool]
    """Install the LeaderWorkerSet controller (multi-node replicas)."""
    efa_device_plugin: NotRequired[bool]
    """Install the AWS EFA device plugin, which advertises `vpc.amazonaws.com/efa` on EFA-capable GPU nodes."""
    dcgm_exporter: NotRequired[bool]
    """Install the NVIDIA DCGM exporter on the GPU nodes (GPU utilisation, memory, temperature, XID errors)."""
    alerting_rules: NotRequired[str]
    """Prometheus alerting rules file (YAML, `groups:`) loaded into the Prometheus server."""
    grafana_dashboard: NotRequired[str]
    """Grafana dashboard JSON, shipped as a ConfigMap labelled for Grafana's dashboard sidecar."""
    dashboard_name: NotRequired[str]
    """Name of the dashboard ConfigMap (default: `<name>-dashboard`)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


def _alerting_rules(text: str) -> dict[str, Any]:
    """The rules file as the chart's `serverFiles."alerting_rules.yml"` takes it (a mapping, rendered by toYaml)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise ValueError("ServingAddons: alerting_rules is not a Prometheus rules file; allowed: YAML with `groups:`")
    return doc


class ServingAddons(pulumi.ComponentResource):
    """KEDA, a Prometheus that scrapes vLLM, and (optionally) LeaderWorkerSet and the EFA device plugin."""

    prometheus_url: pulumi.Output[str]
    """In-cluster URL of the Prometheus server."""

    def __init__(self, name: str, args: ServingAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ServingAddons", name, None, opts)
        versions = _versions("ServingAddons", args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION))
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        _release(f"{name}-keda", "keda", versions.keda, "keda", {"nodeSelector": SYSTEM_POOL}, child)
        server_files = {}
        if "alerting_rules" in args:
            # The chart's default server config already lists /etc/config/alerting_rules.yml under rule_files.
            server_files = {"serverFiles": {"alerting_rules.yml": _alerting_rules(args["alerting_rules"])}}
        prometheus = _release(
            f"{name}-prometheus",
            "prometheus",
            versions.prometheus,
            MONITORING_NAMESPACE,
            {
                **server_files,
                "alertmanager": {"enabled": False},
                "prometheus-pushgateway": {"enabled": False},
                "prometheus-node-exporter": {"enabled": False},
                "kube-state-metrics": {"enabled": False},
                # No PersistentVolume: EKS has no EBS CSI driver or default StorageClass out of the box, so a
                # claim would leave Prometheus (and with it every KEDA trigger) Pending. Autoscaling reads only
                # the last minutes of samples, which a restart loses harmlessly.
                "server": {"nodeSelector": SYSTEM_POOL, "retention": "7d", "persistentVolume": {"enabled": False}},
            },
            child,
        )
        if args.get("dcgm_exporter", False):
            self._create_dcgm_exporter(name, versions.dcgm_exporter, child)
        if "grafana_dashboard" in args:
            dashboard_name = args.get("dashboard_name", f"{name}-dashboard")
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata={
                    "name": dashboard_name,
                    "namespace": MONITORING_NAMESPACE,
                    # grafana_dashboard: "1" is the label Grafana's sidecar collects dashboards by.
                    "labels": {"grafana_dashboard": "1", **PART_OF},
                },
                data={f"{dashboard_name}.json": args["grafana_dashboard"]},
                # The Prometheus release creates the monitoring namespace.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[prometheus])),
            )
        if args.get("leader_worker_set", False):
            _release(f"{name}-lws", "lws", versions.leader_worker_set, "lws-system", None, child)
        if args.get("efa_device_plugin", False):
            # kube-system: the plugin mounts the kubelet's device-plugin directory, which the restricted serving
            # namespace forbids. The chart already limits itself to EFA instance types by node affinity; it
            # must tolerate the GPU taint, because EFA-capable serving nodes are the GPU nodes.
            _release(
                f"{name}-efa",
                "aws-efa-k8s-device-plugin",
                versions.efa_device_plugin,
                "kube-system",
                {"tolerations": [_GPU_TOLERATION], "nodeSelector": {GPU_LABEL: "true"}},
                child,
            )
        self.prometheus_url = pulumi.Output.from_input(PROMETHEUS_URL)
        self.register_outputs({"prometheus_url": self.prometheus_url})

    @staticmethod
    def _create_dcgm_exporter(name: str, pin: ChartPin, child: pulumi.ResourceOptions) -> None:
        namespace, daemon_set = DCGM_EXPORTER
        _release(
            f"{name}-dcgm-exporter",
            daemon_set,
            pin,
            namespace,
            {
                # fullnameOverride fixes the DaemonSet's name to the one the guardrails pack allow-lists.
                "fullnameOverride": daemon_set,
                # No ServiceMonitor (that needs the Prometheus Operator's CRDs): the pod annotations let the
                # chart-installed Prometheus' kubernetes-pods job scrape it.
                "serviceMonitor": {"enabled": False},
                "podAnnotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9400"},
                "nodeSelector": {GPU_LABEL: "true"},
                "tolerations": [_GPU_TOLERATION],
                "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
            },
            child,
        )


class NvidiaDevicePluginArgs(TypedDict):
    """Inputs of the NVIDIA device plugin DaemonSet."""

    kubernetes_version: NotRequired[str]
    """Kubernetes minor version of the cluster; picks the plugin release (default 1.33)."""
    image: NotRequired[str]
    """Device plugin image with a version tag; overrides the release the version table pins."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """Advertises `nvidia.com/gpu` on GPU nodes where the cloud does not (EKS AL2023 NVIDIA AMIs)."""

    daemon_set_name: pulumi.Output[str]
    """Name of the DaemonSet."""

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:NvidiaDevicePlugin", name, None, opts)
        pin = _versions("NvidiaDevicePlugin", args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION))
        pinned = f"{pin.nvidia_device_plugin.chart}:{pin.nvidia_device_plugin.version}"
        try:
            image = check_image(args.get("image", pinned))
        except ValueError as exc:
            raise ValueError(f"NvidiaDevicePlugin: {exc}") from None
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        labels = {"app.kubernetes.io/name": "nvidia-device-plugin", **PART_OF}
        ds_spec: Any = {
            "selector": {"match_labels": labels},
            "update_strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priority_class_name": "system-node-critical",
                    "node_selector": {GPU_LABEL: "true"},
                    "tolerations": [_GPU_TOLERATION],
                    "containers": [
                        {
                            "name": "nvidia-device-plugin",
                            "image": image,
                            "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                            "security_context": restricted_container_security(),
                            "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                            "volume_mounts": [
                                {"name": "device-plugin", "mount_path": "/var/lib/kubelet/device-plugins"}
                            ],
                        }
                    ],
                    # The plugin registers through the kubelet's socket directory on the host.
                    "volumes": [{"name": "device-plugin", "host_path": {"path": "/var/lib/kubelet/device-plugins"}}],
                },
            },
        }
        ds = k8s.apps.v1.DaemonSet(
            f"{name}-ds", metadata={"namespace": "kube-system", "labels": labels}, spec=ds_spec, opts=child
        )
        self.daemon_set_name = ds.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"daemon_set_name": self.daemon_set_name})
