"""Reading pod templates out of Kubernetes workload inputs (shared by the workload rules)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from servestack.costing.resources import MISSING, Resource, is_unknown, lookup

__all__ = [
    "DEPLOYMENT",
    "STATEFUL_SET",
    "LEADER_WORKER_SET",
    "SCALED_OBJECT",
    "HPA_TYPES",
    "PDB",
    "WORKLOAD_TYPES",
    "SERVING_TYPES",
    "GPU_RESOURCE",
    "PodTemplate",
    "pod_templates",
    "is_model_server",
    "metadata_name",
    "namespace",
    "containers_of",
]

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
LEADER_WORKER_SET = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"
HPA_TYPES = ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:autoscaling/v1:HorizontalPodAutoscaler")
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
GPU_RESOURCE = "nvidia.com/gpu"

_TEMPLATE_PATHS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    DEPLOYMENT: (("pod", ("spec", "template")),),
    STATEFUL_SET: (("pod", ("spec", "template")),),
    "kubernetes:apps/v1:DaemonSet": (("pod", ("spec", "template")),),
    "kubernetes:apps/v1:ReplicaSet": (("pod", ("spec", "template")),),
    "kubernetes:batch/v1:Job": (("pod", ("spec", "template")),),
    "kubernetes:batch/v1:CronJob": (("pod", ("spec", "jobTemplate", "spec", "template")),),
    "kubernetes:core/v1:Pod": (("pod", ()),),
    LEADER_WORKER_SET: (
        ("leader", ("spec", "leaderWorkerTemplate", "leaderTemplate")),
        ("worker", ("spec", "leaderWorkerTemplate", "workerTemplate")),
    ),
}
WORKLOAD_TYPES = tuple(_TEMPLATE_PATHS)
SERVING_TYPES = (DEPLOYMENT, STATEFUL_SET, LEADER_WORKER_SET)
"""Workload kinds a model server runs as (DaemonSets such as the NVIDIA device plugin are not servers)."""

_SERVER_IMAGE = re.compile(r"(^|/)(vllm|vllm-openai|text-generation-inference|tritonserver|sglang|tgi)([:@]|$)")


@dataclass(frozen=True, slots=True)
class PodTemplate:
    role: str
    """pod, or leader / worker of a LeaderWorkerSet."""
    path: str
    """Where the template sits in the inputs, for messages (spec.template)."""
    template: Any
    """The template object ({metadata, spec}); UNKNOWN or MISSING when not readable."""

    @property
    def spec(self) -> Any:
        return lookup(self.template, "spec")

    @property
    def labels(self) -> Any:
        return lookup(self.template, "metadata", "labels")

    def containers(self, kind: str = "containers") -> Any:
        return lookup(self.template, "spec", kind)


def pod_templates(r: Resource) -> list[PodTemplate]:
    out: list[PodTemplate] = []
    for role, path in _TEMPLATE_PATHS.get(r.type, ()):
        template = r.get(*path) if path else r.inputs
        out.append(PodTemplate(role, ".".join(path), template))
    return out


def _gpu_limit(container: Any) -> Any:
    return lookup(container, "resources", "limits", GPU_RESOURCE)


def is_model_server(template: PodTemplate) -> bool | None:
    """True when the pod asks for GPUs, tolerates the GPU taint or runs a known inference server image."""
    spec = lookup(template.template, "spec")
    if is_unknown(spec):
        return None
    if spec is MISSING:
        return False
    containers = lookup(spec, "containers")
    if isinstance(containers, list):
        for c in containers:
            image = lookup(c, "image")
            if isinstance(image, str) and _SERVER_IMAGE.search(image.lower()):
                return True
            if _gpu_limit(c) is not MISSING or lookup(c, "resources", "requests", GPU_RESOURCE) is not MISSING:
                return True
    tolerations = lookup(spec, "tolerations")
    return isinstance(tolerations, list) and any(lookup(t, "key") == GPU_RESOURCE for t in tolerations)


def metadata_name(r: Resource) -> Any:
    """metadata.name, else MISSING (Pulumi then auto-names it from the resource name)."""
    return r.get("metadata", "name")


def namespace(r: Resource) -> Any:
    ns = r.get("metadata", "namespace")
    return "default" if ns is MISSING or ns is None else ns


def containers_of(template: PodTemplate) -> Sequence[Any]:
    found = template.containers()
    return found if isinstance(found, list) else []
