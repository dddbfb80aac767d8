"""Prometheus alerting rules for one stack, with thresholds from its SLO and plan.

A stack with several servers gets one group per pool (`servestack-<pool>`, every rule labelled with its
`workload` and `pool`), selecting that pool's model server, plus one cluster-wide `servestack-gpu` group for the
GPU health rules (DCGM reports per node, not per pool): the same group from every pool, so the one Prometheus
the program installs holds it once (`fleet_rules_document`).

The output is a plain rules file (`groups:` of `alert` rules), the format `promtool check rules` validates and the
prometheus-community chart loads from `serverFiles."alerting_rules.yml"`: no Prometheus Operator needed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml

from servestack.monitoring import metrics as m
from servestack.monitoring.targets import (
    ERROR_RATE_MAX,
    QUEUE_ALERT_FACTOR,
    WAITING_REQUESTS_PER_REPLICA,
    MonitoringTargets,
)

__all__ = [
    "AlertRule",
    "RATE_WINDOW",
    "SLO_FOR",
    "KV_CACHE_FULL",
    "GPU_TEMP_MAX_C",
    "GPU_GROUP",
    "alert_rules",
    "fleet_rules_document",
    "rules_document",
    "rules_yaml",
]

RATE_WINDOW = "5m"
"""Window of the rates the percentiles are computed over."""
SLO_FOR = "10m"
"""How long a percentile must stay over its SLO before the alert fires: long enough to ride out one burst, short
enough to page before an hour of misses."""
KV_CACHE_FULL = 0.95
"""KV-cache usage above which vLLM starts preempting sequences (recomputing them), which inflates TPOT."""
GPU_TEMP_MAX_C = 85.0
"""Sustained GPU temperature that precedes thermal throttling on data-centre parts."""
GPU_GROUP = "servestack-gpu"
"""The rule group of a fleet's GPU health rules, shared by its pools."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One alerting rule; `threshold` is the number the expression compares against (in the metric's unit)."""

    alert: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    threshold: float | None
    labels: tuple[tuple[str, str], ...] = ()
    """Labels besides severity: a fleet's pool rules carry `workload` and `pool`."""

    def as_dict(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"alert": self.alert, "expr": self.expr}
        if self.for_ != "0m":
            rule["for"] = self.for_
        rule["labels"] = {"severity": self.severity, **dict(self.labels)}
        rule["annotations"] = {"summary": self.summary, "description": self.description}
        return rule


def _num(value: float) -> str:
    """A threshold as PromQL reads it, without float noise (0.05, not 0.05000000000000001)."""
    return repr(round(value, 9)) if not float(value).is_integer() else str(int(value))


def _p95(bucket: str, selector: str) -> str:
    return f"histogram_quantile(0.95, sum by (le) (rate({bucket}{{{selector}}}[{RATE_WINDOW}])))"


def _minutes(seconds: float) -> str:
    return f"{max(1, math.ceil(seconds / 60))}m"


def alert_rules(t: MonitoringTargets) -> list[AlertRule]:
    """The stack's alerts: SLO percentiles, queue, KV cache, errors, replicas, and (NVIDIA parts) GPU health.

    For a fleet's pool: the server's alerts only, labelled with workload and pool (`gpu_rules` are the cluster's).
    """
    rules = _server_rules(t)
    if t.pool is not None:
        labels = (("workload", t.workload), ("pool", t.pool))
        return [replace(rule, labels=labels) for rule in rules]
    if t.gpu_metrics:
        rules += _gpu_rules(t, f"{t.workload} ({t.environment})")
    return rules


def gpu_rules(t: MonitoringTargets) -> list[AlertRule]:
    """A fleet's GPU health rules: about every GPU node of the cluster, so the same from each of its pools."""
    return _gpu_rules(t, f"cluster ({t.environment})") if t.gpu_metrics else []


def _server_rules(t: MonitoringTargets) -> list[AlertRule]:
    model = t.selector
    where = f"{t.workload} ({t.environment})" if t.pool in (None, t.workload) else (
        f"{t.workload} pool {t.pool} ({t.environment})")
    rules: list[AlertRule] = []
    latencies = (
        ("VllmTtftP95OverSlo", "time to first token", m.TTFT_BUCKET, t.ttft_p95_s, "slo.ttft_ms_p95"),
        ("VllmTpotP95OverSlo", "time per output token", m.TPOT_BUCKET, t.tpot_p95_s, "slo.tpot_ms_p95"),
        ("VllmLatencyP95OverSlo", "end-to-end request latency", m.E2E_BUCKET, t.latency_p95_s, "slo.latency_ms_p95"),
    )
    for alert, what, bucket, slo, field in latencies:
        if slo is None:
            continue
        rules.append(AlertRule(
            alert=alert,
            expr=f"{_p95(bucket, model)} > {_num(slo)}",
            for_=SLO_FOR,
            severity=t.severity,
            summary=f"{where}: p95 {what} over the SLO",
            description=(f"p95 {what} is {{{{ $value | humanizeDuration }}}} over {RATE_WINDOW}, above the "
                         f"workload's {field} of {_num(slo * 1000)} ms for {SLO_FOR}."),
            threshold=slo,
        ))
    queue = QUEUE_ALERT_FACTOR * WAITING_REQUESTS_PER_REPLICA
    rules.append(AlertRule(
        alert="VllmQueueBacklog",
        expr=f"avg({m.REQUESTS_WAITING}{{{model}}}) > {_num(queue)}",
        for_=SLO_FOR,
        severity=t.severity,
        summary=f"{where}: requests queue faster than the autoscaler adds replicas",
        description=(f"{{{{ $value }}}} requests wait per replica, {QUEUE_ALERT_FACTOR:g}x the autoscaler's target of "
                     f"{WAITING_REQUESTS_PER_REPLICA:g}; the plan's peak is {t.replicas_peak} replicas."),
        threshold=queue,
    ))
    rules.append(AlertRule(
        alert="VllmKvCacheNearFull",
        expr=f"max({m.KV_CACHE_USAGE}{{{model}}}) > {_num(KV_CACHE_FULL)}",
        for_=SLO_FOR,
        severity="warning",
        summary=f"{where}: KV cache nearly full",
        description=(f"A replica's KV cache is {{{{ $value | humanizePercentage }}}} used (above "
                     f"{KV_CACHE_FULL:.0%}): vLLM preempts sequences and TPOT rises."),
        threshold=KV_CACHE_FULL,
    ))
    http = f'{m.HTTP_REQUESTS}{{namespace="{t.namespace}", handler=~"/v1/.*"'
    rules.append(AlertRule(
        alert="VllmRequestErrors",
        expr=(f'sum(rate({http}, status="5xx"}}[{RATE_WINDOW}])) / sum(rate({http}}}[{RATE_WINDOW}])) '
              f"> {_num(ERROR_RATE_MAX)}"),
        for_="5m",
        severity=t.severity,
        summary=f"{where}: requests failing",
        description=(f"{{{{ $value | humanizePercentage }}}} of API requests answer 5xx (above "
                     f"{ERROR_RATE_MAX:.0%})."),
        threshold=ERROR_RATE_MAX,
    ))
    absent_for = _minutes(max(15 * 60, t.startup_budget_s))
    serving = f"count(count by (pod) ({m.REQUESTS_RUNNING}{{{model}}}))"
    rules.append(AlertRule(
        alert="VllmServerAbsent",
        expr=f"absent({m.REQUESTS_RUNNING}{{{model}}})",
        for_=absent_for,
        severity=t.severity,
        summary=f"{where}: no model server reports metrics",
        description=(f"Prometheus has scraped no vLLM replica for {absent_for} (the cold-start budget is "
                     f"{t.startup_budget_s} s): the service is down or no longer scraped."),
        threshold=None,
    ))
    rules.append(AlertRule(
        alert="VllmReplicasBelowFloor",
        expr=f"{serving} < {t.replicas_min}",
        for_=absent_for,
        severity="warning",
        summary=f"{where}: fewer replicas serve than the plan's floor",
        description=(f"{{{{ $value }}}} replicas report metrics; the plan keeps {t.replicas_min} always on "
                     "(capacity or quota is missing)."),
        threshold=float(t.replicas_min),
    ))
    if t.replicas_peak > t.replicas_min:
        # Only where the autoscaler has room: a fixed-size stack is always "at its peak".
        rules.append(AlertRule(
        alert="VllmAtPlannedPeak",
        expr=f"{serving} >= {t.replicas_peak}",
        for_="30m",
        severity="warning",
        summary=f"{where}: serving at the plan's peak replica count",
        description=(f"{t.replicas_peak} replicas (the autoscaler's maximum) have served for 30m: traffic is at or "
                     "above the planned peak; re-plan with the measured rate."),
        threshold=float(t.replicas_peak),
        ))
    return rules


def _gpu_rules(t: MonitoringTargets, where: str) -> list[AlertRule]:
    return [
        AlertRule(
            alert="DcgmExporterAbsent",
            expr=f"absent({m.GPU_UTIL})",
            for_="15m",
            severity="warning",
            summary=f"{where}: no GPU metrics",
            description="The NVIDIA DCGM exporter reports no GPU: GPU alerts are blind.",
            threshold=None,
        ),
        AlertRule(
            alert="GpuXidError",
            expr=f"{m.GPU_XID} > 0 and changes({m.GPU_XID}[15m]) > 0",
            for_="0m",
            severity=t.severity,
            summary=f"{where}: GPU {{{{ $labels.gpu }}}} on {{{{ $labels.Hostname }}}} reported XID {{{{ $value }}}}",
            description=("The driver reported an XID error (see NVIDIA's XID catalogue: 48, 63, 64, 74, 79 and 94/95 "
                         "need the node drained and the GPU reset or replaced)."),
            threshold=0.0,
        ),
        AlertRule(
            alert="GpuTemperatureHigh",
            expr=f"max by (Hostname, gpu) ({m.GPU_TEMP}) > {_num(GPU_TEMP_MAX_C)}",
            for_=SLO_FOR,
            severity="warning",
            summary=f"{where}: GPU {{{{ $labels.gpu }}}} on {{{{ $labels.Hostname }}}} runs hot",
            description=f"{{{{ $value }}}} C for {SLO_FOR} (above {GPU_TEMP_MAX_C:g} C): expect thermal throttling.",
            threshold=GPU_TEMP_MAX_C,
        ),
    ]


def rules_document(t: MonitoringTargets) -> dict[str, Any]:
    """The rules file as data: what the chart's `serverFiles."alerting_rules.yml"` takes. A fleet's pool gives its
    own group and the cluster's GPU group (the program keeps one copy of groups its pools share)."""
    groups = [{"name": f"servestack-{t.name}", "rules": [r.as_dict() for r in alert_rules(t)]}]
    if t.pool is not None and t.gpu_metrics:
        groups.append({"name": GPU_GROUP, "rules": [r.as_dict() for r in gpu_rules(t)]})
    return {"groups": groups}


def fleet_rules_document(targets: Sequence[MonitoringTargets]) -> dict[str, Any]:
    """The rules file of every server of a stack, as its one Prometheus loads it: each pool's group, and a group
    the pools share once."""
    groups: list[dict[str, Any]] = []
    for t in targets:
        groups += [g for g in rules_document(t)["groups"] if g not in groups]
    return {"groups": groups}


def rules_yaml(t: MonitoringTargets | Sequence[MonitoringTargets]) -> str:
    """The rules file as text (what `promtool check rules` reads), of one server or of every server of a stack."""
    document = rules_document(t) if isinstance(t, MonitoringTargets) else fleet_rules_document(t)
    return yaml.safe_dump(document, sort_keys=False, width=120)
