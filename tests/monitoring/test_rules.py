"""The alerting rules read the metrics the deployed exporters publish, with thresholds from the SLO and plan."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
import yaml

from servestack.components.config import DEFAULT_IMAGE, DeploymentConfig
from servestack.errors import ConfigError
from servestack.monitoring import alert_rules, monitoring_targets, rules_document, rules_yaml
from servestack.monitoring import metrics as m
from servestack.monitoring.rules import GPU_TEMP_MAX_C, KV_CACHE_FULL
from servestack.monitoring.targets import ERROR_RATE_MAX
from tests.monitoring.conftest import with_slo

# A metric name in PromQL: identifiers followed by a selector, a range or a closing parenthesis, minus functions
# and keywords. Good enough for the expressions servestack writes (no string literals contain metric-like names
# outside label values, which the selector stripping removes first).
_SELECTOR = re.compile(r"\{[^}]*\}")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_PROMQL_WORDS = {"histogram_quantile", "sum", "by", "rate", "avg", "max", "count", "absent", "and", "changes",
                 "le", "pod", "Hostname", "gpu", "m", "clamp_max", "clamp_min", "ceil", "vector", "or", "on"}


def metric_names(expr: str) -> set[str]:
    text = re.sub(r"\[[0-9]+[smh]\]", "", _SELECTOR.sub("", expr))
    return {w for w in _IDENT.findall(text) if w not in _PROMQL_WORDS}


def threshold(expr: str) -> float:
    match = re.search(r"(?:>|<|>=)\s*([0-9.]+)$", expr)
    assert match, expr
    return float(match.group(1))


def by_name(cfg: DeploymentConfig) -> dict[str, str]:
    return {r.alert: r.expr for r in alert_rules(monitoring_targets(cfg))}


def test_metric_names_are_pinned_to_the_deployed_vllm_release() -> None:
    # The names were read from this vLLM release; an image bump must re-check them (0.13 drops deprecated ones).
    assert DEFAULT_IMAGE.rsplit(":", 1)[1] == m.VLLM_IMAGE_VERSION


def test_every_expression_reads_only_known_exporter_metrics(committed: DeploymentConfig) -> None:
    for rule in alert_rules(monitoring_targets(committed)):
        names = metric_names(rule.expr)
        assert names, rule.expr
        assert names <= m.VLLM_METRICS | m.DCGM_METRICS, (rule.alert, names)


def test_each_alert_reads_the_metric_it_is_about(committed: DeploymentConfig) -> None:
    rules = by_name(committed)
    expected = {
        "VllmTtftP95OverSlo": {m.TTFT_BUCKET},
        "VllmTpotP95OverSlo": {m.TPOT_BUCKET},
        "VllmQueueBacklog": {m.REQUESTS_WAITING},
        "VllmKvCacheNearFull": {m.KV_CACHE_USAGE},
        "VllmRequestErrors": {m.HTTP_REQUESTS},
        "VllmServerAbsent": {m.REQUESTS_RUNNING},
        "VllmReplicasBelowFloor": {m.REQUESTS_RUNNING},
        "DcgmExporterAbsent": {m.GPU_UTIL},
        "GpuXidError": {m.GPU_XID},
        "GpuTemperatureHigh": {m.GPU_TEMP},
    }
    for alert, names in expected.items():
        assert metric_names(rules[alert]) == names, alert


def test_latency_thresholds_equal_the_workload_slo(committed: DeploymentConfig) -> None:
    rules = by_name(committed)
    slo = committed.workload.slo
    assert threshold(rules["VllmTtftP95OverSlo"]) == pytest.approx(slo["ttftMsP95"] / 1000)  # type: ignore[operator]
    assert threshold(rules["VllmTpotP95OverSlo"]) == pytest.approx(slo["tpotMsP95"] / 1000)  # type: ignore[operator]
    assert "rate(" in rules["VllmTtftP95OverSlo"] and "histogram_quantile(0.95," in rules["VllmTtftP95OverSlo"]
    # Every latency alert is scoped to the served model, so two workloads in one Prometheus never mix.
    assert f'model_name="{committed.workload.name}"' in rules["VllmTpotP95OverSlo"]


def test_a_changed_slo_moves_the_thresholds(committed: DeploymentConfig) -> None:
    rules = by_name(with_slo(committed, ttftMsP95=900, tpotMsP95=35, latencyMsP95=12000))
    assert threshold(rules["VllmTtftP95OverSlo"]) == 0.9
    assert threshold(rules["VllmTpotP95OverSlo"]) == 0.035
    assert threshold(rules["VllmLatencyP95OverSlo"]) == 12.0
    assert metric_names(rules["VllmLatencyP95OverSlo"]) == {m.E2E_BUCKET}


def test_an_slo_the_workload_does_not_set_has_no_alert(committed: DeploymentConfig) -> None:
    rules = by_name(with_slo(committed, ttftMsP95=1000, tpotMsP95=None))
    assert "VllmTtftP95OverSlo" in rules
    assert "VllmTpotP95OverSlo" not in rules and "VllmLatencyP95OverSlo" not in rules


def test_a_non_positive_slo_is_refused_naming_the_key(committed: DeploymentConfig) -> None:
    with pytest.raises(ConfigError, match=r"servestack:workload\.slo\.ttftMsP95: 0"):
        monitoring_targets(with_slo(committed, ttftMsP95=0))


def test_fixed_thresholds(committed: DeploymentConfig) -> None:
    rules = by_name(committed)
    assert threshold(rules["VllmKvCacheNearFull"]) == KV_CACHE_FULL
    assert threshold(rules["VllmRequestErrors"]) == ERROR_RATE_MAX
    assert 'status="5xx"' in rules["VllmRequestErrors"]
    assert threshold(rules["GpuTemperatureHigh"]) == GPU_TEMP_MAX_C
    assert threshold(rules["VllmReplicasBelowFloor"]) == committed.deployment.replicas_min


def test_error_budget_is_the_one_verify_fails_on() -> None:
    from servestack.verify.report import MAX_ERROR_RATE

    assert ERROR_RATE_MAX == MAX_ERROR_RATE


def test_peak_alert_only_where_the_autoscaler_has_room(committed: DeploymentConfig) -> None:
    d = committed.deployment
    rules = by_name(committed)
    if d.replicas_peak > d.replicas_min:
        assert threshold(rules["VllmAtPlannedPeak"]) == d.replicas_peak
    else:
        assert "VllmAtPlannedPeak" not in rules


def test_absence_waits_for_the_cold_start_budget(committed: DeploymentConfig) -> None:
    t = monitoring_targets(committed)

    def absent_for(startup_budget_s: int) -> str:
        rules = alert_rules(replace(t, startup_budget_s=startup_budget_s))
        return next(r.for_ for r in rules if r.alert == "VllmServerAbsent")

    assert absent_for(60) == "15m"  # never shorter than a quarter hour
    assert absent_for(1620) == "27m"  # a fresh node's cold start is not an outage
    assert absent_for(1621) == "28m"


def test_gpu_rules_only_for_nvidia_parts(committed: DeploymentConfig) -> None:
    t = monitoring_targets(committed)
    assert t.gpu_metrics  # both committed stacks run NVIDIA parts
    amd = committed.model_copy(update={"deployment": committed.deployment.model_copy(update={"accelerator": "MI300X"})})
    names = {r.alert for r in alert_rules(monitoring_targets(amd))}
    assert not monitoring_targets(amd).gpu_metrics
    assert not names & {"DcgmExporterAbsent", "GpuXidError", "GpuTemperatureHigh"}
    assert "VllmTtftP95OverSlo" in names


def test_rules_file_is_the_plain_prometheus_format(committed: DeploymentConfig) -> None:
    t = monitoring_targets(committed)
    doc = yaml.safe_load(rules_yaml(t))
    assert doc == rules_document(t)
    assert list(doc) == ["groups"] and len(doc["groups"]) == 1
    for rule in doc["groups"][0]["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
        assert rule["labels"]["severity"] in {"critical", "warning"}
    slo_rule = next(r for r in doc["groups"][0]["rules"] if r["alert"] == "VllmTtftP95OverSlo")
    assert slo_rule["labels"]["severity"] == ("critical" if committed.environment == "prod" else "warning")
