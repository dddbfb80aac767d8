"""Kubernetes components (any cloud), one module per concept.

- `server`: `ModelServer`, vLLM as a Deployment or LeaderWorkerSet
- `load_balancer`: `ModelLoadBalancer`, the internal or TLS public entry point
- `autoscaling`: `ServingAutoscaler`, KEDA on vLLM's queue
- `router`: `ModelRouter`, Envoy Gateway routing a mixed fleet's requests to their size class's pool
- `addons`: `ServingAddons` (KEDA, Prometheus, LeaderWorkerSet, EFA device plugin) and `NvidiaDevicePlugin`
- `prepull`: `ImagePrePuller`, a DaemonSet that pulls the serving image onto GPU nodes as they join

Every component takes an optional `kubeconfig`; when given it builds its own Kubernetes provider, otherwise it
uses the provider passed in `opts` (or the ambient one). `from servestack.components.kubernetes import
ModelServer` and the other names keep working through the re-exports below.
"""

from servestack.components.kubernetes._shared import SERVER_PORT
from servestack.components.kubernetes.addons import (
    PROMETHEUS_URL,
    NvidiaDevicePlugin,
    NvidiaDevicePluginArgs,
    ServingAddons,
    ServingAddonsArgs,
)
from servestack.components.kubernetes.autoscaling import ServingAutoscaler, ServingAutoscalerArgs
from servestack.components.kubernetes.load_balancer import ModelLoadBalancer, ModelLoadBalancerArgs
from servestack.components.kubernetes.prepull import ImagePrePuller, ImagePrePullerArgs
from servestack.components.kubernetes.router import ModelRouter, ModelRouterArgs
from servestack.components.kubernetes.server import (
    ModelServer,
    ModelServerArgs,
    server_await_timeout_s,
    server_await_timeouts,
)

__all__ = [
    "ModelServer",
    "ModelServerArgs",
    "ModelLoadBalancer",
    "ModelLoadBalancerArgs",
    "ModelRouter",
    "ModelRouterArgs",
    "ServingAutoscaler",
    "ServingAutoscalerArgs",
    "ServingAddons",
    "ServingAddonsArgs",
    "NvidiaDevicePlugin",
    "NvidiaDevicePluginArgs",
    "ImagePrePuller",
    "ImagePrePullerArgs",
    "SERVER_PORT",
    "PROMETHEUS_URL",
    "server_await_timeout_s",
    "server_await_timeouts",
]
