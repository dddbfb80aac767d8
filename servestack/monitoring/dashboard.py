"""A Grafana dashboard for one stack: latency against the SLO, throughput, replicas and nodes against the plan,
GPU health, and cost per hour from the plan's prices.

Plain dashboard JSON with a `datasource` variable, so it imports into any Grafana; the stack also ships it as a
ConfigMap labelled `grafana_dashboard: "1"`, which Grafana's dashboard sidecar (kube-prometheus-stack, the
grafana chart with `sidecar.dashboards.enabled`) loads on its own. Plan figures and SLO lines are constant series
(`vector(x)`), drawn next to what is measured.
"""

from __future__ import annotations

import json
from typing import Any

from servestack.monitoring import metrics as m
from servestack.monitoring.rules import RATE_WINDOW
from servestack.monitoring.targets import MonitoringTargets

__all__ = ["DASHBOARD_LABEL", "dashboard", "dashboard_json", "dashboard_uid", "gpu_nodes_expr", "cost_expr"]

DASHBOARD_LABEL = {"grafana_dashboard": "1"}
"""The label Grafana's dashboard sidecar watches ConfigMaps for."""
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_WIDTH = 12
_HEIGHT = 8


def dashboard_uid(name: str) -> str:
    """The uid of a workload's (a fleet pool's) dashboard. Grafana uids are at most 40 characters: a longer one
    keeps its start and a digest of the whole, so two long pool names of one stack do not collide."""
    full = f"servestack-{name}"
    if len(full) <= 40:
        return full
    import hashlib

    return f"{full[:31]}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"


def gpu_nodes_expr(t: MonitoringTargets) -> str:
    """GPU nodes running: nodes with a DCGM exporter (NVIDIA), else nodes hosting a model server pod. A fleet's
    pool counts its serving pods: DCGM reports every GPU node of the cluster, whichever pool it belongs to."""
    if t.gpu_metrics and t.pool is None:
        return f"count(count by (Hostname) ({m.GPU_UTIL}))"
    # Without DCGM, one replica occupies nodes_per_replica nodes, and replicas share a node when they fit.
    per_node = max(1, round(t.replicas_peak / t.nodes_peak)) if t.nodes_per_replica == 1 else 1
    return f"ceil({_serving(t)} * {t.nodes_per_replica} / {per_node})"


def cost_expr(t: MonitoringTargets) -> str:
    """USD per hour of the GPU nodes running: the floor at the base price, nodes above it at the burst price."""
    nodes = gpu_nodes_expr(t)
    return (f"clamp_max({nodes}, {t.nodes_min}) * {t.hourly_usd_per_node} + "
            f"clamp_min({nodes} - {t.nodes_min}, 0) * {t.hourly_usd_per_node_burst}")


def _serving(t: MonitoringTargets) -> str:
    return f"count(count by (pod) ({m.REQUESTS_RUNNING}{{{t.selector}}}))"


def _target(ref: str, expr: str, legend: str) -> dict[str, Any]:
    return {"refId": ref, "datasource": _DATASOURCE, "expr": expr, "legendFormat": legend}


def _panel(title: str, unit: str, targets: list[tuple[str, str]], description: str = "") -> dict[str, Any]:
    refs = "ABCDEFGHIJ"
    # Constant series (plan figures, SLO lines) are drawn dashed so they read as references, not measurements.
    overrides = [
        {"matcher": {"id": "byName", "options": legend},
         "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}
        for expr, legend in targets if expr.startswith("vector(")
    ]
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": _DATASOURCE,
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"lineWidth": 2}}, "overrides": overrides},
        "targets": [_target(refs[i], expr, legend) for i, (expr, legend) in enumerate(targets)],
    }


def _latency(t: MonitoringTargets, title: str, bucket: str, slo: float | None) -> dict[str, Any]:
    sel = t.selector
    targets = [
        (f"histogram_quantile({q}, sum by (le) (rate({bucket}{{{sel}}}[{RATE_WINDOW}])))", f"p{round(q * 100)}")
        for q in (0.5, 0.95, 0.99)
    ]
    if slo is not None:
        targets.append((f"vector({slo})", "SLO p95"))
    return _panel(title, "s", targets)


def dashboard(t: MonitoringTargets) -> dict[str, Any]:
    """The dashboard as data (a fleet's pool: that pool's server, titled with its workload and pool)."""
    sel = t.selector
    http = f'{m.HTTP_REQUESTS}{{namespace="{t.namespace}", handler=~"/v1/.*"'
    panels = [
        _latency(t, "Time to first token", m.TTFT_BUCKET, t.ttft_p95_s),
        _latency(t, "Time per output token", m.TPOT_BUCKET, t.tpot_p95_s),
        _latency(t, "End-to-end request latency", m.E2E_BUCKET, t.latency_p95_s),
        _panel("Throughput", "short", [
            (f"sum(rate({m.REQUEST_SUCCESS}{{{sel}}}[{RATE_WINDOW}]))", "requests/s"),
            (f"sum(rate({m.GENERATION_TOKENS}{{{sel}}}[{RATE_WINDOW}]))", "output tokens/s"),
            (f"sum(rate({m.PROMPT_TOKENS}{{{sel}}}[{RATE_WINDOW}]))", "prompt tokens/s"),
        ]),
        _panel("Replicas against the plan", "short", [
            (_serving(t), "serving"),
            (f"vector({t.replicas_min})", "plan min"),
            (f"vector({t.replicas_avg})", "plan avg"),
            (f"vector({t.replicas_peak})", "plan peak"),
        ], "Replicas whose model server reports metrics."),
        _panel("GPU nodes against the plan", "short", [
            (gpu_nodes_expr(t), "running"),
            (f"vector({t.nodes_min})", "plan min"),
            (f"vector({t.nodes_avg})", "plan avg"),
            (f"vector({t.nodes_peak})", "plan peak"),
        ]),
        _panel("GPU cost per hour", "currencyUSD", [
            (cost_expr(t), "running"),
            (f"vector({t.hourly_usd(t.nodes_min):.2f})", "plan min"),
            (f"vector({t.hourly_usd(t.nodes_avg):.2f})", "plan avg"),
            (f"vector({t.hourly_usd(t.nodes_peak):.2f})", "plan peak"),
        ], f"GPU nodes x the plan's prices: ${t.hourly_usd_per_node}/h for the {t.nodes_min} floor nodes, "
           f"${t.hourly_usd_per_node_burst}/h above them. Excludes the platform (control plane, NAT, volumes)."),
        _panel("Queue and KV cache", "short", [
            (f"sum({m.REQUESTS_WAITING}{{{sel}}})", "waiting"),
            (f"sum({m.REQUESTS_RUNNING}{{{sel}}})", "running"),
            (f"max({m.KV_CACHE_USAGE}{{{sel}}}) * 100", "max KV cache used %"),
        ]),
        _panel("Errors", "percentunit", [
            (f'sum(rate({http}, status="5xx"}}[{RATE_WINDOW}])) / sum(rate({http}}}[{RATE_WINDOW}]))', "5xx share"),
            (f'sum(rate({m.REQUEST_SUCCESS}{{{sel}, finished_reason="abort"}}[{RATE_WINDOW}])) / '
             f"sum(rate({m.REQUEST_SUCCESS}{{{sel}}}[{RATE_WINDOW}]))", "aborted share"),
        ]),
    ]
    if t.gpu_metrics:
        panels += [
            _panel("GPU utilisation", "percent", [(f"avg by (Hostname) ({m.GPU_UTIL})", "{{Hostname}}")]),
            _panel("GPU memory used", "decmbytes", [(f"sum by (Hostname) ({m.GPU_FB_USED})", "{{Hostname}}")]),
            _panel("GPU temperature", "celsius", [(f"max by (Hostname) ({m.GPU_TEMP})", "{{Hostname}}")]),
        ]
    for i, panel in enumerate(panels):
        panel["id"] = i + 1
        panel["gridPos"] = {"x": (i % 2) * _WIDTH, "y": (i // 2) * _HEIGHT, "w": _WIDTH, "h": _HEIGHT}
    return {
        "uid": dashboard_uid(t.name),
        "title": f"servestack / {_title(t)} ({t.environment})",
        "tags": ["servestack", t.workload, *([t.pool] if t.pool not in (None, t.workload) else []), t.environment],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{
            "name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0,
        }]},
        "panels": panels,
    }


def _title(t: MonitoringTargets) -> str:
    return t.workload if t.pool in (None, t.workload) else f"{t.workload} / pool {t.pool}"


def dashboard_json(t: MonitoringTargets) -> str:
    """The dashboard as the JSON text Grafana imports (stable key order, so a diff shows what changed)."""
    return json.dumps(dashboard(t), indent=2, sort_keys=True) + "\n"
