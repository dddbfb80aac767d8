"""The committed stacks' previews contain the alerting rules, the DCGM exporter and the dashboard ConfigMap."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from servestack.components.config import DeploymentConfig
from servestack.monitoring import dashboard, monitoring_targets, rules_document
from servestack.policies.kubernetes.pod_security.common import DEFAULT_ALLOWED_DAEMONSETS
from servestack.versions import DEFAULT_KUBERNETES_VERSION, addon_versions
from tests.monitoring.conftest import ROOT

pytest.importorskip("pulumi")


@pytest.fixture(scope="module", params=["prod", "dev"])
def preview(request: pytest.FixtureRequest) -> tuple[DeploymentConfig, list[Any]]:
    from servestack.monitoring.targets import stack_config
    from servestack.preview import run_preview

    stack = str(request.param)
    return stack_config(ROOT, stack), run_preview(ROOT, stack).resources


def _one(resources: list[Any], type_: str, suffix: str) -> Any:
    found = [r for r in resources if r.type == type_ and r.name.endswith(suffix)]
    assert len(found) == 1, [r.name for r in resources if r.type == type_]
    return found[0]


def test_prometheus_loads_the_stacks_alerting_rules(preview: tuple[DeploymentConfig, list[Any]]) -> None:
    cfg, resources = preview
    prometheus = _one(resources, "kubernetes:helm.sh/v3:Release", "-addons-prometheus")
    loaded = prometheus.inputs["values"]["serverFiles"]["alerting_rules.yml"]
    assert loaded == rules_document(monitoring_targets(cfg))


def test_dcgm_exporter_is_installed_under_an_allow_listed_name(preview: tuple[DeploymentConfig, list[Any]]) -> None:
    _, resources = preview
    release = _one(resources, "kubernetes:helm.sh/v3:Release", "-addons-dcgm-exporter")
    pin = addon_versions(DEFAULT_KUBERNETES_VERSION).dcgm_exporter
    inputs = release.inputs
    assert (inputs["chart"], inputs["version"]) == (pin.chart, pin.version)
    # The chart names its DaemonSet after fullnameOverride: the guardrails pack exempts it by namespace/name.
    assert f'{inputs["namespace"]}/{inputs["values"]["fullnameOverride"]}' in DEFAULT_ALLOWED_DAEMONSETS
    assert inputs["values"]["serviceMonitor"] == {"enabled": False}  # no Prometheus Operator in the stack
    assert inputs["values"]["podAnnotations"]["prometheus.io/scrape"] == "true"


def test_dashboard_config_map_for_the_grafana_sidecar(preview: tuple[DeploymentConfig, list[Any]]) -> None:
    cfg, resources = preview
    cm = _one(resources, "kubernetes:core/v1:ConfigMap", "-addons-dashboard")
    assert cm.inputs["metadata"]["labels"]["grafana_dashboard"] == "1"
    (text,) = cm.inputs["data"].values()
    assert json.loads(text) == dashboard(monitoring_targets(cfg))


def test_bad_rules_text_is_refused_naming_the_input() -> None:
    from servestack.components.kubernetes.addons import _alerting_rules

    with pytest.raises(ValueError, match="alerting_rules"):
        _alerting_rules(yaml.safe_dump({"rules": []}))
    assert _alerting_rules("groups: []\n") == {"groups": []}
