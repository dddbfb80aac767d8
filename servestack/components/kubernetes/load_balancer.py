"""`ModelLoadBalancer`: the internal (default) or TLS-terminated public entry point of a model server.

Annotations are evaluated at import (no `from __future__ import annotations`): the component provider host
reads them.
"""

import json
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.components._common import check_choice, check_positive
from servestack.components.kubernetes._shared import (
    PART_OF,
    SERVER_PORT,
    await_options,
    child_opts,
    timeout_annotation,
)

__all__ = ["ModelLoadBalancer", "ModelLoadBalancerArgs", "DEFAULT_AWAIT_TIMEOUT_S"]

_GCP_BACKEND_TIMEOUT_S = 600
"""Longest response the public GCP load balancer lets a backend stream (a long generation at low TPOT)."""
DEFAULT_AWAIT_TIMEOUT_S = 600
"""The Kubernetes provider's own wait, kept when the caller does not say how long the server takes to start."""


class ModelLoadBalancerArgs(TypedDict):
    """Inputs of the load balancer in front of a model server."""

    namespace: pulumi.Input[str]
    """Namespace of the server."""
    selector: pulumi.Input[dict[str, str]]
    """Labels of the serving pods."""
    cloud: str
    """aws or gcp: selects the load balancer annotations."""
    exposure: NotRequired[str]
    """internal (default) or public; public requires TLS."""
    tls_certificate_arn: NotRequired[pulumi.Input[str]]
    """AWS: ACM certificate for the public TLS listener."""
    tls_domain: NotRequired[str]
    """GCP: DNS name of the Google-managed certificate for a public endpoint."""
    await_timeout_s: NotRequired[int]
    """How long `pulumi up` waits for the address and ready endpoints: the server's cold start (node launch +
    startup budget, see `server_await_timeout_s`); the provider default of 10 minutes when absent."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ModelLoadBalancer(pulumi.ComponentResource):
    """An internal (default) or TLS-terminated public load balancer for the model server."""

    address: pulumi.Output[str]
    """Hostname or IP of the load balancer once provisioned."""
    port: pulumi.Output[int]
    """Port clients connect to."""

    def __init__(self, name: str, args: ModelLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ModelLoadBalancer", name, None, opts)
        comp = "ModelLoadBalancer"
        cloud = check_choice(comp, "cloud", args.get("cloud"), ("aws", "gcp"))
        exposure = check_choice(comp, "exposure", args.get("exposure", "internal"), ("internal", "public"))
        if exposure == "public" and cloud == "aws" and not args.get("tls_certificate_arn"):
            raise ValueError(f"{comp}: exposure=public on aws needs tls_certificate_arn (an ACM certificate)")
        if exposure == "public" and cloud == "gcp" and not args.get("tls_domain"):
            raise ValueError(f"{comp}: exposure=public on gcp needs tls_domain (for a managed certificate)")
        wait_s = check_positive(
            comp, "await_timeout_s", args.get("await_timeout_s", DEFAULT_AWAIT_TIMEOUT_S), minimum=60
        )
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        # The provider waits for a Service that selects pods until some are ready (and, for a load balancer, an
        # address), and for an Ingress until its backends are: as long as the server's cold start.
        waits = await_options(child, wait_s)
        meta_labels = {"app.kubernetes.io/name": name, **PART_OF}

        if cloud == "gcp" and exposure == "public":
            k8s.apiextensions.CustomResource(
                f"{name}-cert",
                api_version="networking.gke.io/v1",
                kind="ManagedCertificate",
                metadata={"name": f"{name}-cert", "namespace": args["namespace"], "labels": meta_labels},
                spec={"domains": [args.get("tls_domain")]},
                opts=child,
            )
            # The load balancer's backend timeout defaults to 30 s for the whole response, which cuts off any
            # streamed completion that runs longer; its health check defaults to `/`, which vLLM answers 404.
            k8s.apiextensions.CustomResource(
                f"{name}-backend",
                api_version="cloud.google.com/v1",
                kind="BackendConfig",
                metadata={"name": f"{name}-backend", "namespace": args["namespace"], "labels": meta_labels},
                spec={
                    "timeoutSec": _GCP_BACKEND_TIMEOUT_S,
                    "healthCheck": {"type": "HTTP", "requestPath": "/health", "port": SERVER_PORT},
                },
                opts=child,
            )
            svc = k8s.core.v1.Service(
                f"{name}-svc",
                metadata={
                    "namespace": args["namespace"],
                    "labels": meta_labels,
                    "annotations": {
                        **timeout_annotation(wait_s),
                        "cloud.google.com/neg": '{"ingress": true}',
                        "cloud.google.com/backend-config": json.dumps({"default": f"{name}-backend"}),
                    },
                },
                spec={
                    "type": "ClusterIP",
                    "selector": args["selector"],
                    "ports": [{"name": "http", "port": 80, "target_port": SERVER_PORT}],
                },
                opts=waits,
            )
            ingress_spec: Any = {"default_backend": {"service": {"name": svc.metadata.name, "port": {"number": 80}}}}
            ingress = k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata={
                    "namespace": args["namespace"],
                    "labels": meta_labels,
                    "annotations": {
                        **timeout_annotation(wait_s),
                        "kubernetes.io/ingress.class": "gce",
                        "kubernetes.io/ingress.allow-http": "false",
                        "networking.gke.io/managed-certificates": f"{name}-cert",
                    },
                },
                spec=ingress_spec,
                opts=waits,
            )
            self.address = ingress.status.apply(_ingress_address)
            self.port = pulumi.Output.from_input(443)
        else:
            annotations, port = _service_annotations(cloud, exposure, args.get("tls_certificate_arn"))
            svc = k8s.core.v1.Service(
                f"{name}-svc",
                metadata={
                    "namespace": args["namespace"],
                    "labels": meta_labels,
                    "annotations": {**annotations, **timeout_annotation(wait_s)},
                },
                spec={
                    "type": "LoadBalancer",
                    "selector": args["selector"],
                    "ports": [{"name": "http", "port": port, "target_port": SERVER_PORT}],
                },
                opts=waits,
            )
            self.address = svc.status.apply(_service_address)
            self.port = pulumi.Output.from_input(port)
        self.register_outputs({"address": self.address, "port": self.port})


def _service_annotations(
    cloud: str, exposure: str, cert: pulumi.Input[str] | None
) -> tuple[dict[str, pulumi.Input[str]], int]:
    if cloud == "gcp":
        return {"networking.gke.io/load-balancer-type": "Internal"}, 80
    internal = exposure == "internal"
    annotations: dict[str, pulumi.Input[str]] = {
        # An NLB the in-tree controller can build; the scheme key is honoured by the AWS LB Controller too.
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" if internal else "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true" if internal else "false",
    }
    if internal:
        return annotations, 80
    assert cert is not None
    annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = cert
    annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
    annotations["service.beta.kubernetes.io/aws-load-balancer-backend-protocol"] = "tcp"
    return annotations, 443


def _service_address(status: Any) -> str:
    try:
        ingress = status.load_balancer.ingress or []
        return str(ingress[0].hostname or ingress[0].ip or "") if ingress else ""
    except AttributeError:
        return ""


def _ingress_address(status: Any) -> str:
    return _service_address(status)
