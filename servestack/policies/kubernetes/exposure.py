"""Whether a load balancer (Service of type LoadBalancer, or Ingress) is internet-facing, for the LB rules.

Public exposure is allowed by the policy config (`allowPublic`) or, without it, by the stack's
`servestack:exposure: public`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown
from servestack.policies.base import Outcome, RuleContext, not_applicable

__all__ = [
    "SERVICE",
    "INGRESS",
    "AWS_SCHEME",
    "AWS_SSL_CERT",
    "AWS_SSL_PORTS",
    "GKE_LB_TYPE",
    "INGRESS_TLS_ANNOTATIONS",
    "Exposure",
    "exposure",
    "allow_public",
    "ALLOW_PUBLIC_SCHEMA",
]

SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"

AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
AWS_INTERNAL_LEGACY = "service.beta.kubernetes.io/aws-load-balancer-internal"
AWS_SSL_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
AWS_SSL_PORTS = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
GKE_LB_TYPE = "networking.gke.io/load-balancer-type"
GKE_LB_TYPE_LEGACY = "cloud.google.com/load-balancer-type"
INGRESS_TLS_ANNOTATIONS = (
    "networking.gke.io/managed-certificates",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
    "alb.ingress.kubernetes.io/certificate-arn",
)
ALLOW_PUBLIC_SCHEMA = {
    "allowPublic": {"type": "boolean",
                    "description": "Allow internet-facing load balancers; defaults to servestack:exposure."},
}


@dataclass(frozen=True, slots=True)
class Exposure:
    """A load balancer's facts: its kind, whether it is internal, its annotations, and the cloud they name."""

    kind: str
    """Service or Ingress."""
    internal: bool
    annotations: dict[str, Any]
    cloud: str | None


def _service_internal(annotations: dict[str, Any]) -> bool:
    if annotations.get(AWS_SCHEME) == "internal":
        return True
    if str(annotations.get(AWS_INTERNAL_LEGACY, "")).lower() in ("true", "0.0.0.0/0"):
        return True
    return any(str(annotations.get(k, "")).lower() == "internal" for k in (GKE_LB_TYPE, GKE_LB_TYPE_LEGACY))


def _ingress_internal(r: Resource, annotations: dict[str, Any]) -> bool:
    cls = r.get("spec", "ingressClassName")
    legacy = annotations.get("kubernetes.io/ingress.class")
    if "gce-internal" in (cls, legacy):
        return True
    if "alb" in (cls, legacy):
        # The AWS Load Balancer Controller makes ALBs internal unless told internet-facing.
        return bool(annotations.get("alb.ingress.kubernetes.io/scheme", "internal") == "internal")
    return False


def _cloud(annotations: dict[str, Any], ctx: RuleContext) -> str | None:
    if any(k.startswith("service.beta.kubernetes.io/aws-load-balancer") for k in annotations):
        return "aws"
    if any(k.startswith(("networking.gke.io/", "cloud.google.com/")) for k in annotations):
        return "gcp"
    return ctx.stack.cloud


def exposure(r: Resource, ctx: RuleContext) -> Exposure | Outcome:
    """The load balancer's exposure, or a not-applicable outcome (not a load balancer, or unknown)."""
    annotations = r.get("metadata", "annotations")
    if contains_unknown(annotations):
        return not_applicable("annotations unknown during preview")
    notes: dict[str, Any] = annotations if isinstance(annotations, dict) else {}
    if r.type == SERVICE:
        kind = r.get("spec", "type")
        if is_unknown(kind):
            return not_applicable("spec.type unknown during preview")
        if kind != "LoadBalancer":
            return not_applicable(f"Service type {kind if kind is not MISSING else 'ClusterIP'}")
        return Exposure("Service", _service_internal(notes), notes, _cloud(notes, ctx))
    if contains_unknown(r.get("spec")):
        return not_applicable("spec unknown during preview")
    return Exposure("Ingress", _ingress_internal(r, notes), notes, _cloud(notes, ctx))


def allow_public(ctx: RuleContext) -> bool:
    configured = ctx.config.get("allowPublic")
    if isinstance(configured, bool):
        return configured
    return ctx.stack.exposure == "public"
