"""Hand-written programs through the real guardrails pack process, over the analyzer protocol.

Each program is the resource graph a Pulumi program would register (wire format: numbers as floats,
provider object inputs as JSON text). Violating programs, the same violations hidden by tricks, and
compliant programs: every violating one must be caught by exactly the expected mandatory policies, and
no compliant one flagged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servestack.check.analyzer import AnalyzerResource, PolicyPackProcess

PACK = Path(__file__).resolve().parents[2] / "policies" / "guardrails"
STACK = "urn:pulumi:wire::hand::pulumi:pulumi:Stack"
TAGS = {"team": "ml", "environment": "prod", "cost-center": "cc-1"}


def R(type_: str, name: str, props: dict[str, Any], deps: tuple[str, ...] = (),  # noqa: N802
      provider: dict[str, Any] | None = None) -> AnalyzerResource:
    prov = {}
    if provider is not None:
        prov = {"provider_urn": f"{STACK}$pulumi:providers:aws::p", "provider_type": "pulumi:providers:aws",
                "provider_name": "p", "provider_properties": provider}
    return AnalyzerResource(urn=f"{STACK}${type_}::{name}", type=type_, name=name, properties=props,
                            dependencies=deps, **prov)


def urn(type_: str, name: str) -> str:
    return f"{STACK}${type_}::{name}"


EKS = "aws:eks/cluster:Cluster"
NG = "aws:eks/nodeGroup:NodeGroup"
GKE = "gcp:container/cluster:Cluster"
DEPLOY = "kubernetes:apps/v1:Deployment"
SAFE_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
SAFE_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def eks(**vpc: Any) -> dict[str, Any]:
    config = {"subnetIds": ["subnet-a", "subnet-b"], "endpointPublicAccess": False, **vpc}
    return {"roleArn": "arn:aws:iam::1:role/c", "vpcConfig": config, "tags": TAGS,
            "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:us-east-1:1:key/k"}}}


def node_group(**extra: Any) -> dict[str, Any]:
    return {"clusterName": "c", "nodeRoleArn": "arn:aws:iam::1:role/n", "subnetIds": ["subnet-a"],
            "instanceTypes": ["m7i.large"], "scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1},
            "launchTemplate": {"id": "lt-1", "version": "1"}, "tags": TAGS, **extra}


def gke(**extra: Any) -> dict[str, Any]:
    return {"location": "us-central1", "resourceLabels": TAGS,
            "privateClusterConfig": {"enablePrivateNodes": True, "enablePrivateEndpoint": True},
            "workloadIdentityConfig": {"workloadPool": "p.svc.id.goog"}, **extra}


def container(**extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": "nginx:1.27", "securityContext": dict(SAFE_CONTAINER), **extra}


def workload(kind: str, name: str, spec: dict[str, Any], namespace: str = "default",
             annotations: dict[str, str] | None = None) -> AnalyzerResource:
    pod_spec = {"securityContext": dict(SAFE_POD), **spec}
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "annotations": annotations or {}}
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
    types = {"Deployment": DEPLOY, "DaemonSet": "kubernetes:apps/v1:DaemonSet", "Job": "kubernetes:batch/v1:Job",
             "StatefulSet": "kubernetes:apps/v1:StatefulSet", "Pod": "kubernetes:core/v1:Pod",
             "CronJob": "kubernetes:batch/v1:CronJob",
             "LeaderWorkerSet": "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"}
    if kind == "Pod":
        props: dict[str, Any] = {"metadata": meta, "spec": pod_spec}
    elif kind == "CronJob":
        props = {"metadata": meta, "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}}
    elif kind == "LeaderWorkerSet":
        worker = {"metadata": {}, "spec": spec.pop("worker_spec") if "worker_spec" in spec else pod_spec}
        props = {"metadata": meta, "spec": {"leaderWorkerTemplate": {
            "size": 2, "leaderTemplate": {"metadata": {}, "spec": {k: v for k, v in pod_spec.items()
                                                                   if k != "worker_spec"}},
            "workerTemplate": worker}}}
    else:
        props = {"metadata": meta, "spec": {"selector": {"matchLabels": {"app": name}}, "template": template}}
    return R(types[kind], name, props)


def gpu_server(name: str, command: list[str], selector: dict[str, Any], failure_threshold: int = 3,
               annotations: dict[str, str] | None = None) -> AnalyzerResource:
    probe = {"httpGet": {"path": "/health", "port": 8000}}
    server = container(name="vllm", image="vllm/vllm-openai:v0.11.0", command=command,
                       resources={"limits": {"nvidia.com/gpu": "1"},
                                  "requests": {"nvidia.com/gpu": "1", "cpu": "4", "memory": "32Gi"}},
                       startupProbe={**probe, "periodSeconds": 10, "failureThreshold": failure_threshold},
                       readinessProbe=probe, livenessProbe=probe)
    return workload("Deployment", name, {"containers": [server], **selector}, annotations=annotations)


HOST_PATH = [{"name": "host", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}]
GPU_VM = {"ami": "ami-1", "instanceType": "g6e.xlarge", "tags": TAGS, "associatePublicIpAddress": False,
          "metadataOptions": {"httpTokens": "required"}, "rootBlockDevice": {"encrypted": True}}
ALB = R("aws:lb/loadBalancer:LoadBalancer", "edge", {"internal": False, "loadBalancerType": "application",
                                                     "tags": TAGS})
PUBLIC_LB = {"metadata": {"name": "web", "annotations": {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:x",
    "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443"}},
    "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443, "targetPort": 8000}]}}
FP8 = ["vllm", "serve", "m", "--kv-cache-dtype", "fp8"]

VIOLATING: dict[str, tuple[list[AnalyzerResource], set[str]]] = {
    "eks-public-api-default-cidrs": ([R(EKS, "c", eks(endpointPublicAccess=True))],
                                     {"aws-eks-cluster-public-api-restricted"}),
    "eks-one-subnet": ([R(EKS, "c", eks(subnetIds=["subnet-a"]))], {"aws-eks-cluster-multi-subnet"}),
    "eks-no-secrets-encryption": ([R(EKS, "c", {k: v for k, v in eks().items() if k != "encryptionConfig"})],
                                  {"aws-eks-cluster-secrets-encryption"}),
    "node-group-ssh-to-world": ([R(NG, "ng", node_group(remoteAccess={"ec2SshKey": "ops"}))],
                                {"aws-eks-node-group-no-public-ssh"}),
    "node-group-default-template": ([R(NG, "ng", {k: v for k, v in node_group().items() if k != "launchTemplate"})],
                                    {"aws-eks-node-group-launch-template"}),
    "gke-legacy-abac": ([R(GKE, "g", gke(enableLegacyAbac=True))], {"gcp-gke-cluster-no-legacy-abac"}),
    "gke-no-workload-identity": ([R(GKE, "g", {k: v for k, v in gke().items() if k != "workloadIdentityConfig"})],
                                 {"gcp-gke-cluster-workload-identity"}),
    "gke-public-api-open": ([R(GKE, "g", gke(privateClusterConfig={"enablePrivateNodes": True},
                                             masterAuthorizedNetworksConfig={"cidrBlocks": [
                                                 {"cidrBlock": "0.0.0.0/0"}]}))],
                            {"gcp-gke-cluster-public-api-restricted"}),
    "privileged-pod": ([workload("Pod", "p", {"containers": [container(securityContext={
        **SAFE_CONTAINER, "privileged": True})]})], {"kubernetes-pss-privileged"}),
    "host-network-daemonset": ([workload("DaemonSet", "agent", {"hostNetwork": True, "containers": [container()]})],
                               {"kubernetes-pss-host-namespaces"}),
    "host-path-job": ([workload("Job", "j", {"containers": [container()], "volumes": HOST_PATH})],
                      {"kubernetes-pss-host-path-volumes"}),
    "sys-admin-cronjob": ([workload("CronJob", "cj", {"containers": [container(securityContext={
        **SAFE_CONTAINER, "capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}})]})],
                          {"kubernetes-pss-capabilities"}),
    "host-port-statefulset": ([workload("StatefulSet", "s", {"containers": [container(ports=[
        {"containerPort": 8000, "hostPort": 8000}])]})], {"kubernetes-pss-host-ports"}),
    "public-lb-plain-http": ([R("kubernetes:core/v1:Service", "web", {**PUBLIC_LB, "spec": {
        **PUBLIC_LB["spec"], "ports": [{"port": 80, "targetPort": 8000}, {"port": 443, "targetPort": 8000}]}})],
                             {"kubernetes-load-balancer-no-plain-http"}),
    "alb-http-forward": ([ALB, R("aws:lb/listener:Listener", "http", {
        "loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP",
        "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}]}, deps=(ALB.urn,))],
                         {"aws-alb-http-listener-redirects-https"}),
    "ec2-gpu-public-ip": ([R("aws:ec2/instance:Instance", "vm", {**GPU_VM, "associatePublicIpAddress": True})],
                          {"aws-ec2-gpu-instance-no-public-ip"}),
    "ec2-gpu-imdsv1": ([R("aws:ec2/instance:Instance", "vm", {**GPU_VM, "metadataOptions": {
        "httpTokens": "optional"}})], {"aws-ec2-gpu-instance-imdsv2"}),
    "ec2-gpu-unencrypted-root": ([R("aws:ec2/instance:Instance", "vm", {**GPU_VM, "rootBlockDevice": {
        "encrypted": False}})], {"aws-ec2-gpu-instance-encrypted-volumes"}),
    "fp8-kv-on-a100": ([gpu_server("s", FP8, {"nodeSelector": {"servestack.io/accelerator": "A100-80GB"}})],
                       {"kubernetes-fp8-kv-cache-supported"}),
    "cold-start-over-wait": ([gpu_server("s", ["vllm", "serve", "m"], {}, failure_threshold=360)],
                             {"kubernetes-gpu-workload-await-timeout"}),
    "native-eks-public": ([R("aws-native:eks:Cluster", "c", {
        "resourcesVpcConfig": {"subnetIds": ["a", "b"]}, "encryptionConfig": [{"resources": ["secrets"]}]})],
                          {"aws-eks-cluster-public-api-restricted"}),
    "native-nodegroup-ssh": ([R("aws-native:eks:Nodegroup", "ng", {"launchTemplate": {"id": "lt-1"},
                                                                   "remoteAccess": {"ec2SshKey": "ops"}})],
                             {"aws-eks-node-group-no-public-ssh"}),
    "native-instance-imdsv1": ([R("aws-native:ec2:Instance", "vm", {
        "instanceType": "p5.48xlarge", "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
            "encrypted": True}}]})], {"aws-ec2-gpu-instance-imdsv2"}),
    "native-launch-template-imdsv1": ([R("aws-native:ec2:LaunchTemplate", "lt", {"launchTemplateData": {
        "metadataOptions": {"httpTokens": "optional"},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True}}]}})],
                                      {"aws-launch-template-imdsv2"}),
    "native-ecr-mutable": ([R("aws-native:ecr:Repository", "r", {
        "imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfiguration": {"encryptionType": "KMS"}})], {"aws-ecr-repository-immutable-tags"}),
    # The same violations, hidden.
    "fp8-in-shell-on-t4-affinity": ([gpu_server("s", ["sh", "-c", "exec vllm serve m --kv-cache-dtype=fp8_e4m3"],
                                                {"affinity": {"nodeAffinity": {
                                                    "requiredDuringSchedulingIgnoredDuringExecution": {
                                                        "nodeSelectorTerms": [{"matchExpressions": [{
                                                            "key": "nvidia.com/gpu.product", "operator": "In",
                                                            "values": ["Tesla-T4"]}]}]}}}})],
                                    {"kubernetes-fp8-kv-cache-supported"}),
    "host-path-in-lws-worker": ([workload("LeaderWorkerSet", "lws", {
        "containers": [container()],
        "worker_spec": {"securityContext": dict(SAFE_POD), "containers": [container()], "volumes": HOST_PATH}})],
                                {"kubernetes-pss-host-path-volumes"}),
    "privileged-init-container": ([workload("Deployment", "d", {"containers": [container()], "initContainers": [
        container(name="init", securityContext={**SAFE_CONTAINER, "privileged": True})]})],
                                  {"kubernetes-pss-privileged"}),
    "eks-open-cidr-among-others": ([R(EKS, "c", {**eks(), "vpcConfig": {
        "subnetIds": ["a", "b"], "publicAccessCidrs": ["10.0.0.0/8", "0.0.0.0/0"]}})],
                                   {"aws-eks-cluster-public-api-restricted"}),
    "allow-listed-name-outside-kube-system": ([workload("DaemonSet", "nvidia-device-plugin", {
        "containers": [container()], "volumes": HOST_PATH}, namespace="default")],
                                              {"kubernetes-pss-host-path-volumes"}),
}

COMPLIANT: dict[str, list[AnalyzerResource]] = {
    "hardened-eks": [R(EKS, "c", eks(endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"])),
                     R(NG, "ng", node_group())],
    "hardened-gke": [R(GKE, "g", gke())],
    "device-plugin-in-kube-system": [workload("DaemonSet", "nvidia-device-plugin", {
        "containers": [container()], "volumes": HOST_PATH}, namespace="kube-system")],
    "registry-level-scanning": [
        R("aws:ecr/repository:Repository", "r", {"imageTagMutability": "IMMUTABLE", "tags": TAGS,
                                                  "imageScanningConfiguration": {"scanOnPush": False},
                                                  "encryptionConfigurations": [{"encryptionType": "KMS"}]}),
        R("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration", "scan", {
            "scanType": "ENHANCED", "rules": [{"scanFrequency": "CONTINUOUS_SCAN",
                                               "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]})],
    "tags-from-provider-default-tags": [R("aws:ecr/repository:Repository", "r", {
        "imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "KMS"}]},
        provider={"region": "us-east-1", "defaultTags": json.dumps({"tags": TAGS})})],
    "fp8-on-h100-with-timeout": [gpu_server("s", FP8, {"nodeSelector": {"nvidia.com/gpu.product":
                                                                        "NVIDIA-H100-80GB-HBM3"}},
                                            failure_threshold=360,
                                            annotations={"pulumi.com/timeoutSeconds": "3700"})],
    "alb-http-redirect": [ALB, R("aws:lb/listener:Listener", "http", {
        "loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP", "defaultActions": [
            {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]},
        deps=(ALB.urn,))],
    "hardened-gpu-instance": [R("aws:ec2/instance:Instance", "vm", GPU_VM)],
    "public-tls-only": [R("kubernetes:core/v1:Service", "web", PUBLIC_LB)],
}


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackProcess]:
    config = {"servestack:exposure": "public", "aws:region": "us-east-1"}
    with PolicyPackProcess(PACK, project="hand", stack="wire", config=config) as p:
        p.configure_stack()
        p.configure({})
        yield p


def _violated(pack: PolicyPackProcess, program: list[AnalyzerResource]) -> tuple[set[str], set[str]]:
    diagnostics = [d for r in program for d in pack.analyze(r)] + pack.analyze_stack(program)
    return ({d.policy for d in diagnostics if d.enforcement == "mandatory"},
            {d.policy for d in diagnostics if d.enforcement != "mandatory"})


@pytest.mark.parametrize("name", sorted(VIOLATING))
def test_violating_program_is_caught_by_its_policy(pack: PolicyPackProcess, name: str) -> None:
    program, expected = VIOLATING[name]
    mandatory, _advisory = _violated(pack, program)
    assert mandatory == expected


@pytest.mark.parametrize("name", sorted(COMPLIANT))
def test_compliant_program_is_not_flagged(pack: PolicyPackProcess, name: str) -> None:
    mandatory, advisory = _violated(pack, COMPLIANT[name])
    assert (mandatory, advisory) == (set(), set())
