"""Add-on versions by Kubernetes minor version: one table, and the upstream statements it must satisfy.

Every Helm release and add-on image servestack installs takes its version from here, given the cluster's
Kubernetes version, so a cluster upgrade changes one key and brings compatible add-ons with it. The upstream
support statements are data too (with their source and the date they were read), and a test checks every row
against them. Pulumi-free: the plan, the contract and the policy packs may import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

__all__ = [
    "DEFAULT_KUBERNETES_VERSION",
    "SUPPORTED_KUBERNETES_VERSIONS",
    "ADDON_VERSIONS",
    "SUPPORT_STATEMENTS",
    "AddonVersions",
    "ChartPin",
    "SupportStatement",
    "addon_fields",
    "addon_versions",
    "compatibility_problems",
    "kubernetes_minor",
    "minor_of",
]


@dataclass(frozen=True)
class ChartPin:
    """One pinned release of an add-on."""

    chart: str
    """Chart name, or an oci:// reference (then `repository` is None)."""
    version: str
    """Chart version passed to Helm (for image-only add-ons: the image tag)."""
    repository: str | None
    """Helm repository URL; None for oci:// charts and image-only add-ons."""
    app_version: str
    """Version of the software the chart runs (its appVersion, or the image tag we pin)."""


@dataclass(frozen=True)
class AddonVersions:
    """The add-on releases installed on a cluster of one Kubernetes minor version."""

    kubernetes: str
    keda: ChartPin
    leader_worker_set: ChartPin
    cluster_autoscaler: ChartPin
    """Chart version, and the image tag (app_version) whose minor must equal the cluster's."""
    nvidia_device_plugin: ChartPin
    """Image tag of nvcr.io/nvidia/k8s-device-plugin (servestack runs it as its own DaemonSet)."""
    efa_device_plugin: ChartPin
    prometheus: ChartPin
    dcgm_exporter: ChartPin
    """NVIDIA DCGM exporter chart (GPU metrics); app_version is its image tag (DCGM version-exporter version)."""
    envoy_gateway: ChartPin
    """Envoy Gateway chart (the router of a mixed fleet: Gateway API + Envoy); app_version is the release."""


@dataclass(frozen=True)
class SupportStatement:
    """What an add-on's maintainers say about the Kubernetes versions a release runs on.

    `ranges` maps an app-version prefix (a minor such as "2.17", or "" for every release) to the lowest and
    highest Kubernetes minor stated (None: no bound stated). `same_minor` is the cluster-autoscaler rule:
    the app's minor must equal the cluster's.
    """

    addon: str
    source: str
    as_of: str
    """Date the source was read (YYYY-MM-DD)."""
    ranges: dict[str, tuple[str | None, str | None]]
    same_minor: bool = False
    note: str = ""


_KEDA_REPO = "https://kedacore.github.io/charts"
_EKS_CHARTS = "https://aws.github.io/eks-charts"
_AUTOSCALER_REPO = "https://kubernetes.github.io/autoscaler"
_PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts"
_LWS_CHART = "oci://registry.k8s.io/lws/charts/lws"


def _keda(version: str) -> ChartPin:
    return ChartPin("keda", version, _KEDA_REPO, version)


def _autoscaler(chart: str, image_tag: str) -> ChartPin:
    return ChartPin("cluster-autoscaler", chart, _AUTOSCALER_REPO, image_tag)


# LWS 0.8.0 was tested upstream on Kubernetes 1.34 (its e2e kind image) and needs >= 1.26; it is the release the
# components have been exercised with, so every row keeps it rather than following the newest tag.
_LWS = ChartPin(_LWS_CHART, "0.8.0", None, "v0.8.0")
_NVIDIA_DEVICE_PLUGIN = ChartPin("nvcr.io/nvidia/k8s-device-plugin", "v0.17.4", None, "v0.17.4")
_EFA_DEVICE_PLUGIN = ChartPin("aws-efa-k8s-device-plugin", "v0.5.30", _EKS_CHARTS, "v0.5.20")
# Chart 27.x keeps the values keys ServingAddons sets (server.persistentVolume, the sub-chart toggles).
_PROMETHEUS = ChartPin("prometheus", "27.20.0", _PROMETHEUS_REPO, "v3.4.1")
# Chart 4.1.3 runs nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04 (DCGM 4.2.3, exporter 4.1.3).
# Envoy Gateway: one minor per Kubernetes window of its compatibility matrix, newest patch of each. The chart
# carries the Gateway API CRDs of its release (v1.9: Gateway API v1.6.1) and the Envoy proxy image it runs.
_ENVOY_GATEWAY_CHART = "oci://docker.io/envoyproxy/gateway-helm"
_ENVOY_GATEWAY_1_6 = ChartPin(_ENVOY_GATEWAY_CHART, "v1.6.7", None, "v1.6.7")
_ENVOY_GATEWAY_1_8 = ChartPin(_ENVOY_GATEWAY_CHART, "v1.8.3", None, "v1.8.3")
_ENVOY_GATEWAY_1_9 = ChartPin(_ENVOY_GATEWAY_CHART, "v1.9.0", None, "v1.9.0")
_DCGM_EXPORTER = ChartPin("dcgm-exporter", "4.1.3", "https://nvidia.github.io/dcgm-exporter/helm-charts", "4.1.3")

# Chart versions as published by each project (read 2026-12-02 from the charts' repositories and tags):
# KEDA 2.17.2 / 2.18.3 / 2.19.0 / 2.20.2; cluster-autoscaler chart 9.37.0 (app 1.30.0), 9.44.0 (1.31.0),
# 9.46.6 (1.32.0), 9.51.0 (1.33.0), 9.53.0 (1.34.2), each run with the newest patch image of the same minor.
ADDON_VERSIONS: dict[str, AddonVersions] = {
    "1.30": AddonVersions(
        kubernetes="1.30",
        keda=_keda("2.17.2"),
        leader_worker_set=_LWS,
        cluster_autoscaler=_autoscaler("9.37.0", "v1.30.7"),
        nvidia_device_plugin=_NVIDIA_DEVICE_PLUGIN,
        efa_device_plugin=_EFA_DEVICE_PLUGIN,
        prometheus=_PROMETHEUS,
        dcgm_exporter=_DCGM_EXPORTER,
        envoy_gateway=_ENVOY_GATEWAY_1_6,
    ),
    "1.31": AddonVersions(
        kubernetes="1.31",
        keda=_keda("2.18.3"),
        leader_worker_set=_LWS,
        cluster_autoscaler=_autoscaler("9.44.0", "v1.31.5"),
        nvidia_device_plugin=_NVIDIA_DEVICE_PLUGIN,
        efa_device_plugin=_EFA_DEVICE_PLUGIN,
        prometheus=_PROMETHEUS,
        dcgm_exporter=_DCGM_EXPORTER,
        envoy_gateway=_ENVOY_GATEWAY_1_6,
    ),
    "1.32": AddonVersions(
        kubernetes="1.32",
        keda=_keda("2.19.0"),
        leader_worker_set=_LWS,
        cluster_autoscaler=_autoscaler("9.46.6", "v1.32.7"),
        nvidia_device_plugin=_NVIDIA_DEVICE_PLUGIN,
        efa_device_plugin=_EFA_DEVICE_PLUGIN,
        prometheus=_PROMETHEUS,
        dcgm_exporter=_DCGM_EXPORTER,
        envoy_gateway=_ENVOY_GATEWAY_1_8,
    ),
    "1.33": AddonVersions(
        kubernetes="1.33",
        keda=_keda("2.20.2"),
        leader_worker_set=_LWS,
        cluster_autoscaler=_autoscaler("9.51.0", "v1.33.6"),
        nvidia_device_plugin=_NVIDIA_DEVICE_PLUGIN,
        efa_device_plugin=_EFA_DEVICE_PLUGIN,
        prometheus=_PROMETHEUS,
        dcgm_exporter=_DCGM_EXPORTER,
        envoy_gateway=_ENVOY_GATEWAY_1_9,
    ),
    "1.34": AddonVersions(
        kubernetes="1.34",
        keda=_keda("2.20.2"),
        leader_worker_set=_LWS,
        cluster_autoscaler=_autoscaler("9.53.0", "v1.34.5"),
        nvidia_device_plugin=_NVIDIA_DEVICE_PLUGIN,
        efa_device_plugin=_EFA_DEVICE_PLUGIN,
        prometheus=_PROMETHEUS,
        dcgm_exporter=_DCGM_EXPORTER,
        envoy_gateway=_ENVOY_GATEWAY_1_9,
    ),
}

SUPPORTED_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(ADDON_VERSIONS)
DEFAULT_KUBERNETES_VERSION = "1.33"
"""Agrees with the contract's default for new stacks (servestack.contract.DEFAULT_KUBERNETES_VERSION)."""

SUPPORT_STATEMENTS: dict[str, SupportStatement] = {
    "keda": SupportStatement(
        addon="keda",
        source="https://keda.sh/docs/2.22/operate/cluster/#kubernetes-compatibility",
        as_of="2026-12-02",
        ranges={
            "2.16": ("1.29", "1.31"),
            "2.17": ("1.30", "1.32"),
            "2.18": ("1.31", "1.33"),
            "2.19": ("1.32", "1.34"),
            "2.20": ("1.33", "1.35"),
            "2.21": ("1.34", "1.36"),
        },
        note="Kubernetes versions each KEDA minor is tested against (N-2 window).",
    ),
    "leader_worker_set": SupportStatement(
        addon="leader_worker_set",
        source="https://github.com/kubernetes-sigs/lws/blob/main/site/content/en/docs/installation/_index.md",
        as_of="2026-08-21",
        ranges={"": ("1.26", None)},
        note="'A Kubernetes cluster with version >= 1.26 is Required'; no upper bound stated.",
    ),
    "cluster_autoscaler": SupportStatement(
        addon="cluster_autoscaler",
        source="https://github.com/kubernetes/autoscaler/tree/master/cluster-autoscaler#releases",
        as_of="2026-08-22",
        ranges={
            # Lowest chart release per Kubernetes minor, from the README's table (keys are chart versions here).
            "1.30": ("9.37.0", None),
            "1.31": ("9.38.0", None),
            "1.32": ("9.45.0", None),
            "1.33": ("9.47.0", None),
            "1.34": ("9.51.0", None),
        },
        same_minor=True,
        note="Run the autoscaler release of the cluster's own minor version; no cross-version testing upstream.",
    ),
    "nvidia_device_plugin": SupportStatement(
        addon="nvidia_device_plugin",
        source="https://github.com/NVIDIA/k8s-device-plugin#prerequisites",
        as_of="2026-08-19",
        ranges={"": ("1.10", None)},
        note="'Kubernetes version >= 1.10'; the chart's kubeVersion is '>= 1.10.0-0'.",
    ),
    "efa_device_plugin": SupportStatement(
        addon="efa_device_plugin",
        source="https://github.com/aws/eks-charts/blob/master/stable/aws-efa-k8s-device-plugin/Chart.yaml",
        as_of="2026-08-03",
        ranges={"": (None, None)},
        note="No Kubernetes range published (the chart sets no kubeVersion); AWS ships it for every EKS version.",
    ),
    "prometheus": SupportStatement(
        addon="prometheus",
        source="https://github.com/prometheus-community/helm-charts/blob/main/charts/prometheus/Chart.yaml",
        as_of="2026-08-22",
        ranges={"": ("1.19", None)},
        note="kubeVersion '>=1.19.0-0' in every 27.x chart.",
    ),
    "envoy_gateway": SupportStatement(
        addon="envoy_gateway",
        source="https://github.com/envoyproxy/gateway/blob/v1.9.0/site/content/en/news/releases/matrix.md",
        as_of="2026-12-02",
        ranges={
            "1.6": ("1.30", "1.33"),
            "1.8": ("1.32", "1.35"),
            "1.9": ("1.33", "1.36"),
        },
        note="Kubernetes versions of the compatibility matrix; v1.6 and v1.8 are past their end of life "
        "(2026-05-13, 2026-11-08): clusters on 1.30-1.32 should move to 1.33 for a supported router.",
    ),
    "dcgm_exporter": SupportStatement(
        addon="dcgm_exporter",
        source="https://github.com/NVIDIA/dcgm-exporter/blob/main/deployment/Chart.yaml",
        as_of="2026-12-02",
        ranges={"": ("1.19", None)},
        note="kubeVersion '>= 1.19.0-0' in the chart (3.x and 4.x); no upper bound stated.",
    ),
}

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$")


def minor_of(version: str) -> tuple[int, int]:
    """(major, minor) of a version string such as "1.33", "v1.33.4" or "2.17.2"."""
    match = _VERSION.match(version.strip())
    if match is None:
        raise ValueError(f"version {version!r} is not valid; allowed: MAJOR.MINOR[.PATCH]")
    return int(match.group(1)), int(match.group(2))


def kubernetes_minor(kubernetes_version: str) -> str:
    """The table key ("1.33") of a Kubernetes version ("1.33", "1.33.4", "v1.33.4-eks-abc")."""
    try:
        major, minor = minor_of(str(kubernetes_version))
    except ValueError:
        raise ValueError(_unsupported(kubernetes_version)) from None
    return f"{major}.{minor}"


def addon_versions(kubernetes_version: str) -> AddonVersions:
    """The add-on releases for a cluster; ValueError naming the version and the supported ones otherwise."""
    key = kubernetes_minor(kubernetes_version)
    row = ADDON_VERSIONS.get(key)
    if row is None:
        raise ValueError(_unsupported(kubernetes_version))
    return row


def _unsupported(value: object) -> str:
    return (
        f"kubernetes_version={value!r} is not supported; allowed: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)} "
        "(add a row to servestack/versions.py for another version)"
    )


def addon_fields() -> tuple[str, ...]:
    """Names of the add-on columns of a row (every field but `kubernetes`)."""
    return tuple(f.name for f in fields(AddonVersions) if f.name != "kubernetes")


def compatibility_problems(row: AddonVersions) -> list[str]:
    """Where a row's pins disagree with the upstream statements (empty when every add-on supports the cluster)."""
    cluster = minor_of(row.kubernetes)
    problems: list[str] = []
    for addon in addon_fields():
        pin: ChartPin = getattr(row, addon)
        statement = SUPPORT_STATEMENTS.get(addon)
        if statement is None:
            problems.append(f"{addon}: no upstream support statement recorded")
            continue
        if statement.same_minor:
            problems += _same_minor_problems(addon, pin, row.kubernetes, statement)
            continue
        keys = [k for k in statement.ranges if _version_has_prefix(pin.app_version, k)]
        if not keys:
            problems.append(f"{addon} {pin.app_version}: the statement at {statement.source} does not cover it")
            continue
        low, high = statement.ranges[max(keys, key=len)]
        if (low is not None and cluster < minor_of(low)) or (high is not None and cluster > minor_of(high)):
            problems.append(
                f"{addon} {pin.app_version} supports Kubernetes {low or 'any'}-{high or 'any'}, "
                f"not {row.kubernetes} ({statement.source}, as of {statement.as_of})"
            )
    return problems


def _same_minor_problems(addon: str, pin: ChartPin, kubernetes: str, statement: SupportStatement) -> list[str]:
    problems: list[str] = []
    if minor_of(pin.app_version) != minor_of(kubernetes):
        problems.append(f"{addon} {pin.app_version} must match the cluster's minor version {kubernetes}")
    lowest = statement.ranges.get(kubernetes, (None, None))[0]
    if lowest is None:
        problems.append(f"{addon}: {statement.source} names no chart for Kubernetes {kubernetes}")
    elif _release_tuple(pin.version) < _release_tuple(lowest):
        problems.append(f"{addon} chart {pin.version} predates {lowest}, the first for Kubernetes {kubernetes}")
    return problems


def _version_has_prefix(version: str, prefix: str) -> bool:
    if not prefix:
        return True
    plain = version.lstrip("v")
    return plain == prefix or plain.startswith(prefix + ".")


def _release_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-")[0]))
