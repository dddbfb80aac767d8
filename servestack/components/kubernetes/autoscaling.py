"""`ServingAutoscaler`: a KEDA ScaledObject that scales a model server on vLLM's queue, never on CPU.

Annotations are evaluated at import (no `from __future__ import annotations`): the component provider host
reads them.
"""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.components._common import check_choice, check_positive
from servestack.components.kubernetes._shared import PART_OF, child_opts
from servestack.components.kubernetes.addons import PROMETHEUS_URL

__all__ = ["ServingAutoscaler", "ServingAutoscalerArgs"]


class ServingAutoscalerArgs(TypedDict):
    """Inputs of a KEDA ScaledObject that scales a model server on vLLM's queue."""

    namespace: pulumi.Input[str]
    """Namespace of the scaled workload."""
    target_name: pulumi.Input[str]
    """Name of the Deployment or LeaderWorkerSet."""
    target_kind: str
    """Deployment or LeaderWorkerSet."""
    target_api_version: str
    """apps/v1 or leaderworkerset.x-k8s.io/v1."""
    served_model_name: str
    """Model name in vLLM's metrics labels."""
    min_replicas: int
    """Replicas never scaled below (the plan's replicasMin)."""
    max_replicas: int
    """Replicas never scaled above (the plan's replicasPeak)."""
    prometheus_url: NotRequired[str]
    """Prometheus that scrapes vLLM; defaults to the one ServingAddons installs."""
    waiting_requests_per_replica: NotRequired[float]
    """Target of `vllm:num_requests_waiting` per replica (default 5)."""
    kv_cache_usage_target: NotRequired[float]
    """Optional second trigger on mean KV-cache usage (0-1)."""
    scale_down_stabilization_seconds: NotRequired[int]
    """Window before scaling down (default 300)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ServingAutoscaler(pulumi.ComponentResource):
    """Scales a model server on waiting requests (and optionally KV-cache usage), never on CPU."""

    scaled_object_name: pulumi.Output[str]
    """Name of the KEDA ScaledObject."""

    def __init__(self, name: str, args: ServingAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ServingAutoscaler", name, None, opts)
        comp = "ServingAutoscaler"
        lo = check_positive(comp, "min_replicas", args.get("min_replicas"))
        hi = check_positive(comp, "max_replicas", args.get("max_replicas"))
        if hi < lo:
            raise ValueError(f"{comp}: max_replicas={hi} is below min_replicas={lo}; allowed: max >= min")
        kind = check_choice(comp, "target_kind", args.get("target_kind"), ("Deployment", "LeaderWorkerSet"))
        window = check_positive(
            comp, "scale_down_stabilization_seconds", args.get("scale_down_stabilization_seconds", 300), minimum=0
        )
        waiting = float(args.get("waiting_requests_per_replica", 5.0))
        if waiting <= 0:
            raise ValueError(f"{comp}: waiting_requests_per_replica={waiting} is not valid; allowed: > 0")
        server = args.get("prometheus_url", PROMETHEUS_URL)
        # The server's own pods only: in a mixed fleet every pool serves the same model name, and each pool's
        # autoscaler must see its own queue, not the workload's (the chart's pod scrape labels `namespace`).
        namespace = pulumi.Output.from_input(args["namespace"])
        selector = namespace.apply(lambda ns: f'model_name="{args["served_model_name"]}", namespace="{ns}"')
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        triggers: list[dict[str, Any]] = [
            {
                "type": "prometheus",
                "name": "waiting-requests",
                "metadata": {
                    "serverAddress": server,
                    "query": selector.apply(lambda sel: f"sum(vllm:num_requests_waiting{{{sel}}})"),
                    "threshold": f"{waiting:g}",
                },
            }
        ]
        kv = args.get("kv_cache_usage_target")
        if kv is not None:
            if not 0 < float(kv) <= 1:
                raise ValueError(f"{comp}: kv_cache_usage_target={kv} is not valid; allowed: 0-1")
            triggers.append(
                {
                    "type": "prometheus",
                    "name": "kv-cache-usage",
                    "metricType": "Value",
                    "metadata": {
                        "serverAddress": server,
                        # vLLM 0.11 names it kv_cache_usage_perc; older releases gpu_cache_usage_perc.
                        "query": selector.apply(
                            lambda sel: f"avg(vllm:kv_cache_usage_perc{{{sel}}} or vllm:gpu_cache_usage_perc{{{sel}}})"
                        ),
                        "threshold": f"{float(kv):g}",
                    },
                }
            )
        k8s.apiextensions.CustomResource(
            f"{name}-scaledobject",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata={
                "name": name,
                "namespace": args["namespace"],
                "labels": dict(PART_OF),
            },
            spec={
                "scaleTargetRef": {
                    "apiVersion": args["target_api_version"],
                    "kind": kind,
                    "name": args["target_name"],
                },
                "minReplicaCount": lo,
                "maxReplicaCount": hi,
                "pollingInterval": 15,
                "cooldownPeriod": window,
                "advanced": {
                    "horizontalPodAutoscalerConfig": {
                        "behavior": {
                            "scaleDown": {
                                "stabilizationWindowSeconds": window,
                                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                            },
                            "scaleUp": {"stabilizationWindowSeconds": 0},
                        }
                    }
                },
                "triggers": triggers,
            },
            opts=child,
        )
        self.scaled_object_name = pulumi.Output.from_input(name)
        self.register_outputs({"scaled_object_name": self.scaled_object_name})
