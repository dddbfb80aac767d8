"""SSG009 kubernetes-load-balancer-internal-or-tls: load balancers are internal unless allowed, TLS when public.

Judges Services of type LoadBalancer and Ingresses. Public exposure is allowed by the policy config
(`allowPublic`) or, without it, by the stack's `servestack:exposure: public`.
"""

from __future__ import annotations

from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation

__all__ = ["RULE", "SERVICE", "INGRESS"]

SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"

AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
AWS_INTERNAL_LEGACY = "service.beta.kubernetes.io/aws-load-balancer-internal"
AWS_SSL_CERT = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
GKE_LB_TYPE = "networking.gke.io/load-balancer-type"
GKE_LB_TYPE_LEGACY = "cloud.google.com/load-balancer-type"
_INGRESS_TLS_ANNOTATIONS = (
    "networking.gke.io/managed-certificates",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
    "alb.ingress.kubernetes.io/certificate-arn",
)


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


def _allow_public(ctx: RuleContext) -> bool:
    configured = ctx.config.get("allowPublic")
    if isinstance(configured, bool):
        return configured
    return ctx.stack.exposure == "public"


def _cloud(annotations: dict[str, Any], ctx: RuleContext) -> str | None:
    if any(k.startswith("service.beta.kubernetes.io/aws-load-balancer") for k in annotations):
        return "aws"
    if any(k.startswith(("networking.gke.io/", "cloud.google.com/")) for k in annotations):
        return "gcp"
    return ctx.stack.cloud


def check(r: Resource, ctx: RuleContext) -> Outcome:
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
        internal = _service_internal(notes)
    else:
        if contains_unknown(r.get("spec")):
            return not_applicable("spec unknown during preview")
        internal = _ingress_internal(r, notes)
    if internal:
        return passed()
    what = "Service" if r.type == SERVICE else "Ingress"
    if not _allow_public(ctx):
        hint = (f"annotate {AWS_SCHEME}: internal (EKS) or {GKE_LB_TYPE}: Internal (GKE)" if r.type == SERVICE
                else "use an internal ingress class")
        return violation(f"{what} {r.name} is internet-facing; {hint}, or allow public exposure "
                         "(allowPublic in the policy config, or servestack:exposure: public)")
    if r.type == INGRESS:
        tls = r.get("spec", "tls")
        if (isinstance(tls, list) and tls) or any(notes.get(k) for k in _INGRESS_TLS_ANNOTATIONS):
            return passed()
        return violation(f"public Ingress {r.name} has no TLS: set spec.tls or a managed certificate")
    cloud = _cloud(notes, ctx)
    if notes.get(AWS_SSL_CERT):
        return passed()
    if cloud == "gcp":
        return violation(f"public Service {r.name} is a passthrough load balancer that cannot terminate TLS; "
                         "expose it through an Ingress or Gateway with a managed certificate")
    return violation(f"public Service {r.name} has no TLS: set {AWS_SSL_CERT} to an ACM certificate ARN")


RULE = ResourceRule(
    id="SSG009",
    name="kubernetes-load-balancer-internal-or-tls",
    description="Load balancers are internal unless public exposure is allowed, and terminate TLS when public.",
    config_schema={
        "allowPublic": {"type": "boolean",
                        "description": "Allow internet-facing load balancers; defaults to servestack:exposure."},
    },
    defaults={},
    resource_types=(SERVICE, INGRESS),
    check=check,
)
