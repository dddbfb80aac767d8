"""What monitoring watches for one stack: the workload's SLO and the plan's figures, read from the stack config.

Pulumi-free: `servestack dashboard` and the tests build it from a stack file; the Pulumi program builds it from
the same validated `DeploymentConfig`, so the alerts, the dashboard and the deployment cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from servestack.components.config import DeploymentConfig
from servestack.errors import ConfigError

__all__ = [
    "ERROR_RATE_MAX",
    "QUEUE_ALERT_FACTOR",
    "WAITING_REQUESTS_PER_REPLICA",
    "MonitoringTargets",
    "monitoring_targets",
    "stack_config",
]

ERROR_RATE_MAX = 0.01
"""Share of failed requests that breaks the service: the same 1 % `servestack verify` fails a run on."""
WAITING_REQUESTS_PER_REPLICA = 5.0
"""Queued requests per replica the autoscaler scales on (ServingAutoscaler's default target)."""
QUEUE_ALERT_FACTOR = 2.0
"""The queue alert fires when replicas hold this many times the autoscaler's target for a sustained period:
scaling has stopped keeping up (at the plan's peak, or nodes that do not arrive)."""


@dataclass(frozen=True, slots=True)
class MonitoringTargets:
    """One stack's thresholds and plan figures. Latencies in seconds (Prometheus' unit), prices in USD/hour."""

    workload: str
    """Served model name: vLLM's `model_name` label."""
    namespace: str
    """Namespace of the model server (ModelDeployment names it after the workload)."""
    environment: str
    ttft_p95_s: float | None
    tpot_p95_s: float | None
    latency_p95_s: float | None
    replicas_min: int
    replicas_avg: int
    replicas_peak: int
    nodes_min: int
    nodes_avg: int
    nodes_peak: int
    nodes_per_replica: int
    hourly_usd_per_node: float
    """Price of a floor node (pricing_base)."""
    hourly_usd_per_node_burst: float
    """Price of a node above the floor (pricing_burst)."""
    accelerator: str
    gpu_metrics: bool
    """True when the accelerator is NVIDIA's, so the DCGM exporter runs and GPU alerts apply."""
    startup_budget_s: int
    """Pod scheduled -> serving on a fresh node: absence alerts wait at least this long."""

    @property
    def severity(self) -> str:
        """Severity label of SLO alerts: production pages, other environments warn."""
        return "critical" if self.environment == "prod" else "warning"

    def hourly_usd(self, nodes: int) -> float:
        """What `nodes` GPU nodes cost per hour: the floor at its price, the rest at the burst price."""
        floor = min(nodes, self.nodes_min)
        return floor * self.hourly_usd_per_node + (nodes - floor) * self.hourly_usd_per_node_burst


_SLO_KEYS = {"ttftMsP95": "ttft_p95_s", "tpotMsP95": "tpot_p95_s", "latencyMsP95": "latency_p95_s"}


def _slo_seconds(cfg: DeploymentConfig) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, field in _SLO_KEYS.items():
        value = cfg.workload.slo.get(key)
        if value is not None and not value > 0:
            raise ConfigError(f"servestack:workload.slo.{key}: {value!r} is not valid; a positive number of ms")
        out[field] = None if value is None else value / 1000.0
    return out


def _is_nvidia(accelerator: str) -> bool:
    from servestack.catalog import load_catalog

    facts = load_catalog().accelerators.get(accelerator)
    # Parts outside the bundled catalog are GPUs the stack was hand-edited to; DCGM serves NVIDIA's only.
    return facts is not None and facts.vendor == "nvidia"


def monitoring_targets(cfg: DeploymentConfig) -> MonitoringTargets:
    """The thresholds and plan figures of a validated stack config."""
    d = cfg.deployment
    slo = _slo_seconds(cfg)
    return MonitoringTargets(
        workload=cfg.workload.name,
        namespace=cfg.workload.name,
        environment=cfg.environment,
        ttft_p95_s=slo["ttft_p95_s"],
        tpot_p95_s=slo["tpot_p95_s"],
        latency_p95_s=slo["latency_p95_s"],
        replicas_min=d.replicas_min,
        replicas_avg=d.replicas_avg,
        replicas_peak=d.replicas_peak,
        nodes_min=d.nodes_min,
        nodes_avg=d.nodes_avg,
        nodes_peak=d.nodes_peak,
        nodes_per_replica=d.nodes_per_replica,
        hourly_usd_per_node=d.hourly_usd_per_node,
        hourly_usd_per_node_burst=d.hourly_usd_per_node_burst,
        accelerator=d.accelerator,
        gpu_metrics=_is_nvidia(d.accelerator),
        startup_budget_s=d.serving.startup_budget_s,
    )


def stack_config(project_dir: Path, stack: str | None) -> DeploymentConfig:
    """The validated `servestack:*` config of a stack file (project defaults included), as the program reads it.

    `stack` None picks the project's only stack file; ConfigError names the key, the value and what is allowed.
    """
    from servestack.preview.project import load_project, load_stack_config, resolve_stack

    project = load_project(project_dir)
    raw = load_stack_config(project, resolve_stack(project, stack)).raw
    values = {key.partition(":")[2]: value for key, value in raw.items()
              if key.startswith("servestack:") and key != "servestack:generated"}
    if "gcp:project" in raw:
        values["gcp:project"] = raw["gcp:project"]
    return DeploymentConfig.from_mapping(values)
