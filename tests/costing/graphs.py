"""Resource graphs shaped like the stacks servestack's program creates (see the cross-team contract).

Built as plain `Resource` records so costing and policy tests need no Pulumi engine; each builder takes
the numbers a plan decides (instance type, node counts, pricing modes) so tests can derive expectations
from catalog lookups instead of copying totals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from servestack.catalog import PricingMode
from servestack.costing.resources import Resource

CAPACITY = {"on_demand": "ON_DEMAND", "1y": "ON_DEMAND", "3y": "ON_DEMAND", "spot": "SPOT"}
TAGS = {"team": "ml-platform", "environment": "prod", "cost-center": "cc-42", "managed-by": "servestack"}


def urn(type_: str, name: str, stack: str = "prod") -> str:
    return f"urn:pulumi:{stack}::servestack::{type_}::{name}"


def res(type_: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = (),
        provider: dict[str, Any] | None = None) -> Resource:
    return Resource(urn=urn(type_, name), type=type_, name=name, inputs=inputs, dependencies=deps, provider=provider)


@dataclass(frozen=True)
class Plan:
    """The plan numbers a stack is generated from."""

    cloud: str = "aws"
    region: str = "us-east-1"
    instance_type: str = "g6e.xlarge"
    zones: int = 2
    nodes_min: int = 2
    nodes_avg: int = 3
    nodes_peak: int = 5
    pricing_base: PricingMode = "on_demand"
    pricing_burst: PricingMode = "spot"
    root_gib: int = 200
    root_throughput_mibps: int = 125
    """gp3 throughput of the GPU nodes' root volume (125 MiB/s is the free baseline)."""
    root_iops: int = 3000
    gcp_accelerator: str = "nvidia-l4"
    accelerators_per_node: int = 1
    environment: str = "prod"
    spot_instance_types: tuple[str, ...] = ()
    """The contract's spotInstanceTypes: every type a spot group may launch (empty: instance_type only)."""

    def with_(self, **changes: Any) -> Plan:
        return replace(self, **changes)


def _tags(plan: Plan, pricing: str | None = None) -> dict[str, str]:
    tags = dict(TAGS, environment=plan.environment)
    if pricing is not None:
        tags["servestack-pricing"] = pricing
    return tags


def _launch_template(name: str, gib: int, plan: Plan, throughput: int = 125, iops: int = 3000) -> Resource:
    return res("aws:ec2/launchTemplate:LaunchTemplate", name, {
        "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled", "httpPutResponseHopLimit": 2},
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {
            "volumeSize": gib, "volumeType": "gp3", "throughput": throughput, "iops": iops, "encrypted": "true",
            "deleteOnTermination": "true"}}],
        "tags": _tags(plan),
    })


def _eks_group(name: str, plan: Plan, instance_type: str, pricing: str, lo: int, want: int, hi: int,
               lt: Resource, subnets: list[Resource], cluster: Resource, gpu: bool = True) -> Resource:
    inputs: dict[str, Any] = {
        "clusterName": "gpu-cluster",
        "instanceTypes": list(plan.spot_instance_types) if pricing == "spot" and plan.spot_instance_types
        else [instance_type],
        "capacityType": CAPACITY[pricing],
        "scalingConfig": {"minSize": lo, "desiredSize": want, "maxSize": hi},
        "launchTemplate": {"id": "lt-0123", "version": "1"},
        "subnetIds": [f"subnet-{i}" for i in range(len(subnets))],
        "tags": _tags(plan, pricing),
        "labels": {"servestack.io/gpu": "true"} if gpu else {},
    }
    if gpu:
        inputs["amiType"] = "AL2023_x86_64_NVIDIA"
        inputs["taints"] = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    deps = (lt.urn, cluster.urn, *(s.urn for s in subnets))
    return res("aws:eks/nodeGroup:NodeGroup", name, inputs, deps)


def aws_stack(plan: Plan = Plan()) -> list[Resource]:
    tags = _tags(plan)
    vpc = res("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16", "tags": tags})
    zones = [f"{plan.region}{'abcdef'[i]}" for i in range(plan.zones)]
    private = [res("aws:ec2/subnet:Subnet", f"private-{z}", {"availabilityZone": z, "mapPublicIpOnLaunch": False,
                                                              "tags": tags}) for z in zones]
    public = [res("aws:ec2/subnet:Subnet", f"public-{z}", {"availabilityZone": z, "mapPublicIpOnLaunch": True,
                                                            "tags": tags}) for z in zones]
    eips = [res("aws:ec2/eip:Eip", f"nat-ip-{z}", {"domain": "vpc", "tags": tags}) for z in zones]
    nats = [res("aws:ec2/natGateway:NatGateway", f"nat-{z}", {"subnetId": "subnet-x", "tags": tags},
                deps=(p.urn, e.urn)) for z, p, e in zip(zones, public, eips, strict=True)]
    cluster = res("aws:eks/cluster:Cluster", "gpu-cluster", {
        "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False}, "tags": tags})
    gpu_lt = _launch_template("gpu-lt", plan.root_gib, plan, plan.root_throughput_mibps, plan.root_iops)
    sys_lt = _launch_template("system-lt", 50, plan)
    base = _eks_group("gpu-base", plan, plan.instance_type, plan.pricing_base, plan.nodes_min, plan.nodes_min,
                      plan.nodes_min, gpu_lt, private, cluster)
    groups = [base]
    if plan.nodes_peak > plan.nodes_min:
        groups.append(_eks_group("gpu-burst", plan, plan.instance_type, plan.pricing_burst, 0,
                                 max(plan.nodes_avg - plan.nodes_min, 0), plan.nodes_peak - plan.nodes_min,
                                 gpu_lt, private, cluster))
    system = _eks_group("system", plan, "m6i.large", "on_demand", 2, 2, 2, sys_lt, private, cluster, gpu=False)
    ecr = res("aws:ecr/repository:Repository", "models", {
        "imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfigurations": [{"encryptionType": "KMS"}], "forceDelete": False, "tags": tags})
    role = res("aws:iam/role:Role", "node-role", {"assumeRolePolicy": "{}", "tags": tags})
    service = res("kubernetes:core/v1:Service", "vllm", {"metadata": {"name": "vllm", "annotations": {
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "vllm"}, "ports": [{"port": 80, "targetPort": 8000}]}})
    return [vpc, *private, *public, *eips, *nats, cluster, gpu_lt, sys_lt, *groups, system, ecr, role, service,
            *kubernetes_workload(plan)]


def kubernetes_workload(plan: Plan, replicas_min: int = 2, replicas_peak: int = 5) -> list[Resource]:
    labels = {"app": "vllm"}
    probe = {"httpGet": {"path": "/health", "port": 8000}}
    deployment = res("kubernetes:apps/v1:Deployment", "vllm", {
        "metadata": {"name": "vllm", "namespace": "default", "labels": labels},
        "spec": {"replicas": replicas_min, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [{
                    "name": "vllm", "image": "vllm/vllm-openai:v0.11.0",
                    "resources": {"limits": {"nvidia.com/gpu": plan.accelerators_per_node}},
                    "startupProbe": probe, "readinessProbe": probe, "livenessProbe": probe,
                }],
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "nodeSelector": {"servestack.io/gpu": "true"},
            }}}})
    pdb = res("kubernetes:policy/v1:PodDisruptionBudget", "vllm", {
        "metadata": {"name": "vllm", "namespace": "default"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}})
    scaled = res("kubernetes:keda.sh/v1alpha1:ScaledObject", "vllm", {
        "metadata": {"name": "vllm", "namespace": "default"},
        "spec": {"scaleTargetRef": {"name": "vllm"}, "minReplicaCount": replicas_min,
                 "maxReplicaCount": replicas_peak}})
    return [deployment, pdb, scaled]


def gcp_stack(plan: Plan) -> list[Resource]:
    labels = _tags(plan)
    zones = [f"{plan.region}-{'abcdef'[i]}" for i in range(plan.zones)]
    network = res("gcp:compute/network:Network", "net", {"autoCreateSubnetworks": False})
    router = res("gcp:compute/router:Router", "router", {"region": plan.region})
    nat = res("gcp:compute/routerNat:RouterNat", "nat", {"region": plan.region, "router": "router"})
    cluster = res("gcp:container/cluster:Cluster", "gpu-cluster", {
        "location": plan.region, "removeDefaultNodePool": True, "initialNodeCount": 1,
        "privateClusterConfig": {"enablePrivateNodes": True}, "resourceLabels": labels,
        "workloadIdentityConfig": {"workloadPool": "proj.svc.id.goog"}})

    def pool(name: str, machine: str, pricing: str, lo: int, want: int, hi: int, gpu: bool) -> Resource:
        config: dict[str, Any] = {
            "machineType": machine, "spot": pricing == "spot", "diskSizeGb": plan.root_gib if gpu else 50,
            "resourceLabels": _tags(plan, pricing), "labels": {},
            "workloadMetadataConfig": {"mode": "GKE_METADATA"},
            "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
        }
        if gpu:
            config["guestAccelerators"] = [{"type": plan.gcp_accelerator, "count": plan.accelerators_per_node,
                                            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}]
            config["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
        return res("gcp:container/nodePool:NodePool", name, {
            "cluster": "gpu-cluster", "location": plan.region, "nodeLocations": zones,
            "nodeConfig": config, "autoscaling": {"totalMinNodeCount": lo, "totalMaxNodeCount": hi},
            "initialNodeCount": -(-want // len(zones)) if want else 0,
        }, deps=(cluster.urn,))

    pools = [pool("gpu-base", plan.instance_type, plan.pricing_base, plan.nodes_min, plan.nodes_min,
                  plan.nodes_min, True)]
    if plan.nodes_peak > plan.nodes_min:
        pools.append(pool("gpu-burst", plan.instance_type, plan.pricing_burst, 0,
                          max(plan.nodes_avg - plan.nodes_min, 0), plan.nodes_peak - plan.nodes_min, True))
    pools.append(pool("system", "e2-standard-4", "on_demand", 2, 2, 2, False))
    registry = res("gcp:artifactregistry/repository:Repository", "models", {
        "format": "DOCKER", "dockerConfig": {"immutableTags": True}, "labels": labels})
    service = res("kubernetes:core/v1:Service", "vllm", {"metadata": {"name": "vllm", "annotations": {
        "networking.gke.io/load-balancer-type": "Internal"}},
        "spec": {"type": "LoadBalancer", "selector": {"app": "vllm"}, "ports": [{"port": 80, "targetPort": 8000}]}})
    return [network, router, nat, cluster, *pools, registry, service, *kubernetes_workload(plan)]
