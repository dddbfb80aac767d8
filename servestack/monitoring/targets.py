"""What monitoring watches for one server: the workload's SLO and the plan's figures, read from the stack config.

Pulumi-free: `servestack dashboard` and the tests build it from a stack file; the Pulumi program builds it from
the same validated `DeploymentConfig`, so the alerts, the dashboard and the deployment cannot disagree.

A stack with several servers (servestack:fleet) is watched server by server: `fleet_targets` gives one
`MonitoringTargets` per pool, each selecting its own pool's model server by namespace (the pools of a mixed fleet
serve the same model name), and `monitoring_targets(cfg.for_server(server))` -- what the program renders for
each pool -- finds the same pool.
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
    "fleet_targets",
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
    """Namespace of the model server (ModelDeployment names it after the workload, a fleet's ModelPool after
    its pool)."""
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
    pool: str | None = None
    """The server's pool on a stack with several servers (servestack:fleet); None for a one-workload stack."""

    @property
    def name(self) -> str:
        """What names this server's rule group and dashboard: its pool, else its workload."""
        return self.pool or self.workload

    @property
    def selector(self) -> str:
        """PromQL label matchers of this server's vLLM metrics. A pool's also match its namespace: the pools of a
        mixed fleet serve one model name, and only the namespace (the scrape job's label) tells them apart."""
        model = f'model_name="{self.workload}"'
        return model if self.pool is None else f'{model}, namespace="{self.namespace}"'

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
            raise ConfigError(f"{_workload_key(cfg)}.slo.{key}: {value!r} is not valid; a positive number of ms")
        out[field] = None if value is None else value / 1000.0
    return out


def _workload_key(cfg: DeploymentConfig) -> str:
    """Where the workload block lives in the stack file: `servestack:workload`, or its entry of the list."""
    if cfg.fleet_workloads is None:
        return "servestack:workload"
    index = next(i for i, w in enumerate(cfg.fleet_workloads) if w.name == cfg.workload.name)
    return f"servestack:workloads[{index}]"


def _is_nvidia(accelerator: str) -> bool:
    from servestack.catalog import load_catalog

    facts = load_catalog().accelerators.get(accelerator)
    # Parts outside the bundled catalog are GPUs the stack was hand-edited to; DCGM serves NVIDIA's only.
    return facts is not None and facts.vendor == "nvidia"


def _pool_of(cfg: DeploymentConfig) -> str | None:
    """The pool a (per-server view of a) fleet config describes: the server `for_server` built it from (it keeps
    that server's own Deployment object), else the only server of its workload. None for a one-workload stack."""
    if cfg.fleet_servers is None:
        return None
    mine = [s for s in cfg.fleet.servers if s.workload == cfg.workload.name]
    same = [s for s in mine if s.deployment is cfg.deployment] or [s for s in mine if s.deployment == cfg.deployment]
    found = same or mine
    return found[0].pool if found else None


def monitoring_targets(cfg: DeploymentConfig, pool: str | None = None) -> MonitoringTargets:
    """The thresholds and plan figures of a validated stack config, or of its server `pool` on a fleet stack
    (default: the server the config is a view of, see `_pool_of`)."""
    if pool is not None:
        cfg = cfg.for_server(cfg.fleet.server(pool))
    else:
        pool = _pool_of(cfg)
    d = cfg.deployment
    slo = _slo_seconds(cfg)
    return MonitoringTargets(
        pool=pool,
        workload=cfg.workload.name,
        namespace=pool or cfg.workload.name,
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


def fleet_targets(cfg: DeploymentConfig) -> list[MonitoringTargets]:
    """One MonitoringTargets per server of the stack, in stack order (one for a one-workload stack)."""
    if cfg.fleet_servers is None:
        return [monitoring_targets(cfg)]
    return [monitoring_targets(cfg, server.pool) for server in cfg.fleet.servers]


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
