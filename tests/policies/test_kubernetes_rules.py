"""Kubernetes guardrails: load balancer exposure and TLS, pinned images, model servers, PDBs, KEDA maximum."""

from __future__ import annotations

from dataclasses import replace

import pytest

from servestack.policies.common import autoscaler_max
from servestack.policies.kubernetes import (
    image_tag,
    load_balancer_internal,
    load_balancer_tls,
    model_server_gpu_limits,
    model_server_liveness_probe,
    model_server_readiness_probe,
)
from servestack.policies.kubernetes.exposure import AWS_SSL_CERT
from servestack.policies.stack import model_server_pdb
from tests.costing.graphs import Plan, aws_stack, gcp_stack, kubernetes_workload, res
from tests.policies.helpers import WIRE_UNKNOWN, changed, removed, run, stack

PLAN = Plan()
AWS = aws_stack(PLAN)
SERVICE = next(r for r in AWS if r.type == "kubernetes:core/v1:Service")
GKE_SERVICE = next(r for r in gcp_stack(PLAN.with_(cloud="gcp", region="us-central1", instance_type="g2-standard-8"))
                   if r.type == "kubernetes:core/v1:Service")
DEPLOYMENT, PDB, SCALED = kubernetes_workload(PLAN)
SCHEME: list[str | int] = ["metadata", "annotations", "service.beta.kubernetes.io/aws-load-balancer-scheme"]
CONTAINER: list[str | int] = ["spec", "template", "spec", "containers", 0]


# -- kubernetes-load-balancer-internal / kubernetes-load-balancer-tls --------------------------------------


def test_internal_services_pass() -> None:
    assert run(load_balancer_internal.RULE, SERVICE).status == "pass"
    assert run(load_balancer_internal.RULE, GKE_SERVICE).status == "pass"
    assert run(load_balancer_tls.RULE, SERVICE).status == "not_applicable"


def test_public_service_not_allowed() -> None:
    public = changed(SERVICE, SCHEME, "internet-facing")
    assert run(load_balancer_internal.RULE, public).texts == [
        "Service vllm is internet-facing; annotate service.beta.kubernetes.io/aws-load-balancer-scheme: internal "
        "(EKS) or networking.gke.io/load-balancer-type: Internal (GKE), or allow public exposure (allowPublic in "
        "the policy config, or servestack:exposure: public)"]


def test_public_service_allowed_needs_tls() -> None:
    public = changed(SERVICE, SCHEME, "internet-facing")
    assert run(load_balancer_internal.RULE, public, settings=stack(exposure="public")).status == "pass"
    assert run(load_balancer_tls.RULE, public, settings=stack(exposure="public")).texts == [
        "public Service vllm has no TLS: set service.beta.kubernetes.io/aws-load-balancer-ssl-cert to an ACM "
        "certificate ARN"]
    with_tls = changed(public, ["metadata", "annotations", AWS_SSL_CERT], "arn:aws:acm:x")
    assert run(load_balancer_tls.RULE, with_tls).status == "pass"
    assert run(load_balancer_internal.RULE, with_tls, {"allowPublic": True}).status == "pass"
    assert run(load_balancer_internal.RULE, with_tls, {"allowPublic": False}, stack(exposure="public")).violated


def test_public_gke_service_cannot_terminate_tls() -> None:
    public = removed(GKE_SERVICE, ["metadata", "annotations", "networking.gke.io/load-balancer-type"])
    outcome = run(load_balancer_tls.RULE, public, {"allowPublic": True}, stack(cloud="gcp"))
    assert outcome.texts[0].startswith("public Service vllm is a passthrough load balancer")


def test_public_ingress_needs_tls() -> None:
    ingress = res("kubernetes:networking.k8s.io/v1:Ingress", "web", {"metadata": {"annotations": {}},
                                                                    "spec": {"rules": []}})
    assert run(load_balancer_internal.RULE, ingress).violated
    assert run(load_balancer_internal.RULE, ingress, {"allowPublic": True}).status == "pass"
    assert run(load_balancer_tls.RULE, ingress).texts == [
        "public Ingress web has no TLS: set spec.tls or a managed certificate"]
    assert run(load_balancer_tls.RULE, changed(ingress, ["spec", "tls"], [{"secretName": "t"}])).status == "pass"


def test_load_balancer_unknown_and_cluster_ip() -> None:
    for rule in (load_balancer_internal.RULE, load_balancer_tls.RULE):
        assert run(rule, changed(SERVICE, SCHEME, WIRE_UNKNOWN)).status == "not_applicable"
        assert run(rule, changed(SERVICE, ["spec", "type"], "ClusterIP")).status == "not_applicable"


# -- kubernetes-image-pinned-tag -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "problem"),
    [("vllm/vllm-openai:latest", "uses the mutable latest tag"), ("vllm/vllm-openai", "has no tag (it means latest)"),
     ("registry:5000/vllm", "has no tag (it means latest)")],
)
def test_unpinned_images(image: str, problem: str) -> None:
    outcome = run(image_tag.RULE, changed(DEPLOYMENT, [*CONTAINER, "image"], image))
    assert outcome.texts == [f"pod container vllm: image {image} {problem}; pin a version tag or digest"]


def test_pinned_images_pass() -> None:
    assert run(image_tag.RULE, DEPLOYMENT).status == "pass"
    digest = changed(DEPLOYMENT, [*CONTAINER, "image"], "vllm/vllm-openai@sha256:" + "a" * 64)
    assert run(image_tag.RULE, digest).status == "pass"
    assert run(image_tag.RULE, changed(DEPLOYMENT, [*CONTAINER, "image"], WIRE_UNKNOWN)).status == "not_applicable"


# -- kubernetes-model-server-gpu-limits / -readiness-probe / -liveness-probe ------------------------------

MODEL_SERVER_RULES = (model_server_gpu_limits.RULE, model_server_readiness_probe.RULE, model_server_liveness_probe.RULE)


@pytest.mark.parametrize("rule", MODEL_SERVER_RULES, ids=lambda r: r.name)
def test_model_server_good(rule) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, DEPLOYMENT).status == "pass"


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        (model_server_gpu_limits.RULE, [*CONTAINER, "resources", "limits", "nvidia.com/gpu"],
         "pod template: no container sets resources.limits[nvidia.com/gpu]"),
        (model_server_readiness_probe.RULE, [*CONTAINER, "readinessProbe"],
         "pod container vllm has no readinessProbe"),
        (model_server_liveness_probe.RULE, [*CONTAINER, "livenessProbe"], "pod container vllm has no livenessProbe"),
    ],
    ids=["no-gpu-limit", "no-readiness", "no-liveness"],
)
def test_model_server_one_property(rule, path: list, message: str) -> None:  # type: ignore[no-untyped-def, type-arg]
    assert run(rule, removed(DEPLOYMENT, path)).texts == [message]
    # The other two rules do not judge this property.
    for other in MODEL_SERVER_RULES:
        if other is not rule:
            assert run(other, removed(DEPLOYMENT, path)).status in ("pass", "not_applicable")


def test_model_server_not_a_server_and_unknown() -> None:
    web = res("kubernetes:apps/v1:Deployment", "web", {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    for rule in MODEL_SERVER_RULES:
        assert run(rule, web).status == "not_applicable"
    unknown = changed(DEPLOYMENT, [*CONTAINER, "livenessProbe"], WIRE_UNKNOWN)
    assert run(model_server_liveness_probe.RULE, unknown).status == "not_applicable"


def test_leader_worker_set_worker_needs_gpu_limit() -> None:
    container = DEPLOYMENT.inputs["spec"]["template"]["spec"]["containers"][0]
    pod = {"metadata": {"labels": {"app": "vllm"}}, "spec": {"containers": [container],
                                                             "tolerations": [{"key": "nvidia.com/gpu"}]}}
    worker = {"metadata": {}, "spec": {"containers": [{"name": "worker", "image": "vllm/vllm-openai:v0.11.0"}]}}
    lws = res("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet", "vllm", {
        "metadata": {"name": "vllm"}, "spec": {"replicas": 1, "leaderWorkerTemplate": {
            "size": 2, "leaderTemplate": pod, "workerTemplate": worker}}})
    assert run(model_server_gpu_limits.RULE, lws).texts == [
        "worker template: no container sets resources.limits[nvidia.com/gpu]"]
    # Workers serve no HTTP: no probes needed.
    assert run(model_server_readiness_probe.RULE, lws).status == "pass"


# -- kubernetes-model-server-pdb -------------------------------------------------------------------------


def test_pdb_present_passes() -> None:
    assert run(model_server_pdb.RULE, [DEPLOYMENT, PDB, SCALED]).status == "pass"


def test_missing_pdb_is_violation() -> None:
    outcome = run(model_server_pdb.RULE, [DEPLOYMENT, SCALED])
    assert outcome.messages == (("model server vllm runs at least 2 replicas but no PodDisruptionBudget selects "
                                 "its pods", DEPLOYMENT.urn),)


def test_pdb_selector_mismatch_is_violation() -> None:
    other = changed(PDB, ["spec", "selector", "matchLabels"], {"app": "other"})
    assert run(model_server_pdb.RULE, [DEPLOYMENT, other, SCALED]).violated


def test_single_replica_needs_no_pdb() -> None:
    one = changed(SCALED, ["spec", "minReplicaCount"], 1)
    assert run(model_server_pdb.RULE, [DEPLOYMENT, one]).status == "pass"


def test_pdb_unknown_replicas() -> None:
    unknown = changed(SCALED, ["spec", "minReplicaCount"], WIRE_UNKNOWN)
    assert run(model_server_pdb.RULE, [DEPLOYMENT, unknown]).status == "not_applicable"


def test_pdb_unknown_pod_label_is_not_applicable() -> None:
    (label, _value), *_ = PDB.inputs["spec"]["selector"]["matchLabels"].items()
    unknown = changed(DEPLOYMENT, ["spec", "template", "metadata", "labels", label], WIRE_UNKNOWN)
    assert run(model_server_pdb.RULE, [unknown, PDB, SCALED]).status == "not_applicable"


def test_pdb_other_namespace_does_not_count() -> None:
    elsewhere = replace(changed(PDB, ["metadata", "namespace"], "other"))
    assert run(model_server_pdb.RULE, [DEPLOYMENT, elsewhere, SCALED]).violated


# -- autoscaler-explicit-max (KEDA) ----------------------------------------------------------------------


def test_scaled_object_max() -> None:
    assert run(autoscaler_max.RULE, SCALED).status == "pass"
    assert run(autoscaler_max.RULE, removed(SCALED, ["spec", "maxReplicaCount"])).texts == [
        "spec.maxReplicaCount is not set; set an explicit maximum >= 1"]
    unknown = changed(SCALED, ["spec", "maxReplicaCount"], WIRE_UNKNOWN)
    assert run(autoscaler_max.RULE, unknown).status == "not_applicable"
