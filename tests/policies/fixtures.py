"""Known-good resources for the guardrail tests: servestack-shaped graphs with today's hardening applied.

`tests.costing.graphs` builds graphs with the fields costing reads; the guardrails also judge cluster API
access, secrets encryption, subnets and pod security, so these graphs add what servestack's components
set for them. Each failing fixture in the tests changes exactly one property of one of these.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from servestack.costing.resources import Resource
from tests.costing.graphs import Plan, aws_stack, gcp_stack, res

__all__ = ["hardened_aws", "hardened_gcp", "GCP_PLAN", "deployment", "by_type", "pod", "native"]

GCP_PLAN = Plan(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}}
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}


def _with(r: Resource, **inputs: Any) -> Resource:
    merged = copy.deepcopy(r.inputs)
    merged.update(copy.deepcopy(inputs))
    return replace(r, inputs=merged)


def _harden_workload(r: Resource) -> Resource:
    if r.type != "kubernetes:apps/v1:Deployment":
        return r
    inputs = copy.deepcopy(r.inputs)
    spec = inputs["spec"]["template"]["spec"]
    spec["securityContext"] = dict(RESTRICTED_POD)
    for c in spec["containers"]:
        c["securityContext"] = dict(RESTRICTED_CONTAINER)
        c["resources"].setdefault("requests", {}).update({"cpu": "4", "memory": "32Gi"})
    return replace(r, inputs=inputs)


def hardened_aws(plan: Plan | None = None) -> list[Resource]:
    out: list[Resource] = []
    for r in aws_stack(plan or Plan()):
        if r.type == "aws:eks/cluster:Cluster":
            r = _with(r, vpcConfig={"endpointPrivateAccess": True, "endpointPublicAccess": True,
                                    "publicAccessCidrs": ["203.0.113.0/24"],
                                    "subnetIds": ["subnet-a", "subnet-b"]},
                      encryptionConfig={"resources": ["secrets"],
                                        "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}})
        out.append(_harden_workload(r))
    return out


def hardened_gcp(plan: Plan = GCP_PLAN) -> list[Resource]:
    out: list[Resource] = []
    for r in gcp_stack(plan):
        if r.type == "gcp:container/cluster:Cluster":
            r = _with(r, privateClusterConfig={"enablePrivateNodes": True, "enablePrivateEndpoint": False},
                      masterAuthorizedNetworksConfig={"cidrBlocks": [{"cidrBlock": "203.0.113.0/24"}]})
        out.append(_harden_workload(r))
    return out


def by_type(graph: list[Resource], type_: str, name: str | None = None) -> Resource:
    return next(r for r in graph if r.type == type_ and (name is None or r.name == name))


def deployment() -> Resource:
    return by_type(hardened_aws(), "kubernetes:apps/v1:Deployment")


def pod(kind: str, name: str = "app", namespace: str = "default", spec: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None) -> Resource:
    """A workload of `kind` (Pod, DaemonSet, CronJob, ...) around a restricted pod spec (or `spec`)."""
    pod_spec = spec if spec is not None else {
        "securityContext": dict(RESTRICTED_POD),
        "containers": [{"name": "app", "image": "nginx:1.27", "securityContext": dict(RESTRICTED_CONTAINER)}],
    }
    template = {"metadata": {"labels": {"app": name}}, "spec": copy.deepcopy(pod_spec)}
    meta = {"name": name, "namespace": namespace, **(metadata or {})}
    group = {"Pod": "core/v1", "Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1",
             "ReplicaSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1",
             "LeaderWorkerSet": "leaderworkerset.x-k8s.io/v1"}[kind]
    if kind == "Pod":
        inputs: dict[str, Any] = {"metadata": meta, "spec": copy.deepcopy(pod_spec)}
    elif kind == "CronJob":
        inputs = {"metadata": meta, "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}}
    elif kind == "LeaderWorkerSet":
        inputs = {"metadata": meta, "spec": {"leaderWorkerTemplate": {
            "size": 2, "leaderTemplate": template, "workerTemplate": copy.deepcopy(template)}}}
    else:
        inputs = {"metadata": meta, "spec": {"selector": {"matchLabels": {"app": name}}, "template": template}}
    return res(f"kubernetes:{group}:{kind}", name, inputs)


def native(type_: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = ()) -> Resource:
    return res(type_, name, inputs, deps)
