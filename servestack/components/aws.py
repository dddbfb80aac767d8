"""AWS components: an EKS cluster in a private VPC, GPU managed node groups, an ECR registry and the
Kubernetes Cluster Autoscaler that grows EKS managed node groups (GKE autoscales node pools itself).

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from servestack.catalog.platform import platform_prices
from servestack.components._common import (
    ACCELERATOR_LABEL,
    GPU_LABEL,
    GPU_TAINT_KEY,
    PRICING_LABEL,
    PRICING_MODES,
    check_choice,
    check_cluster_network,
    check_positive,
    check_scaling,
    check_tags,
)

__all__ = [
    "EksCluster",
    "EksClusterArgs",
    "GpuNodeGroup",
    "GpuNodeGroupArgs",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "ClusterAutoscaler",
    "ClusterAutoscalerArgs",
    "CLUSTER_AUTOSCALER_RELEASES",
    "CLUSTER_AUTOSCALER_TAG_PREFIX",
    "GPU_AMI_TYPES",
    "capacity_type_for",
]

GPU_AMI_TYPES = (
    "AL2023_x86_64_NVIDIA",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "AL2023_ARM_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
)
_DEFAULT_K8S_VERSION = "1.34"
_VPC_CIDR = "10.0.0.0/16"
_NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    # Pull-only: nodes never push images (narrower than AmazonEC2ContainerRegistryReadOnly).
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
)
# The system node group is sized from the same platform table the selector and costing price, so a
# plan's ceiling and the costed ceiling of the stack it writes agree.
_SYSTEM = platform_prices("aws")
_SYSTEM_POOL = {"servestack.io/pool": "system"}
"""Node label of the system node group: cluster add-ons select it so they never take GPU capacity."""

CLUSTER_AUTOSCALER_TAG_PREFIX = "k8s.io/cluster-autoscaler"
# The autoscaler's minor version must match the cluster's. Chart -> app versions as the chart repository
# https://kubernetes.github.io/autoscaler lists them (`helm search repo autoscaler/cluster-autoscaler
# --versions`), as of 2025-12: chart 9.50.1 ships 1.33.0, chart 9.53.0 ships 1.34.2. The image tag is
# pinned too, so the running binary does not depend on a chart's default.
CLUSTER_AUTOSCALER_RELEASES: dict[str, tuple[str, str]] = {
    "1.33": ("9.50.1", "v1.33.0"),
    "1.34": ("9.53.0", "v1.34.2"),
}
_CA_CHART_REPO = "https://kubernetes.github.io/autoscaler"
_CA_NAMESPACE = "kube-system"
_CA_SERVICE_ACCOUNT = "cluster-autoscaler"
# The autoscaler's AWS provider treats a node with this label and no allocatable GPU yet as still starting,
# so it does not add a second node while the device plugin registers the first one's GPUs.
_CA_GPU_LABEL = "k8s.amazonaws.com/accelerator"
_DURATION = re.compile(r"^[1-9][0-9]*[smh]$")
# A Kubernetes label value, short enough to also fit behind the `nvidia-` prefix of _CA_GPU_LABEL.
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,40}[A-Za-z0-9])?$")


def capacity_type_for(pricing: str) -> str:
    """EKS capacity type of a pricing mode: commitments (1y/3y) are billing on on-demand capacity."""
    return "SPOT" if pricing == "spot" else "ON_DEMAND"


def _assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
            ],
        }
    )


def _node_role(parent: pulumi.Resource, name: str, tags: dict[str, str]) -> aws.iam.Role:
    role = aws.iam.Role(
        f"{name}-node-role",
        assume_role_policy=_assume_role_policy("ec2.amazonaws.com"),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    for policy_arn in _NODE_POLICIES:
        short = policy_arn.rsplit("/", 1)[-1].lower().replace("_", "-")
        aws.iam.RolePolicyAttachment(
            f"{name}-{short}",
            role=role.name,
            policy_arn=policy_arn,
            opts=pulumi.ResourceOptions(parent=parent),
        )
    return role


def _launch_template(
    parent: pulumi.Resource,
    name: str,
    *,
    root_volume_gib: int,
    device_name: str,
    tags: dict[str, str],
    placement_group: aws.ec2.PlacementGroup | None = None,
    efa_security_group_ids: pulumi.Input[list[str]] | None = None,
) -> aws.ec2.LaunchTemplate:
    """IMDSv2-only launch template with an encrypted gp3 root volume (and EFA + placement when asked)."""
    network_interfaces: list[aws.ec2.LaunchTemplateNetworkInterfaceArgsDict] | None = None
    if efa_security_group_ids is not None:
        network_interfaces = [
            {
                "device_index": 0,
                "network_card_index": 0,
                "interface_type": "efa",
                "security_groups": efa_security_group_ids,
                "delete_on_termination": "true",
            }
        ]
    return aws.ec2.LaunchTemplate(
        f"{name}-lt",
        metadata_options={
            "http_endpoint": "enabled",
            "http_tokens": "required",
            # 2 hops so pods on the node's network namespace (VPC CNI) can still reach IMDS.
            "http_put_response_hop_limit": 2,
        },
        block_device_mappings=[
            {
                "device_name": device_name,
                "ebs": {
                    "volume_size": root_volume_gib,
                    "volume_type": "gp3",
                    "encrypted": "true",
                    "delete_on_termination": "true",
                },
            }
        ],
        placement={"group_name": placement_group.name} if placement_group is not None else None,
        network_interfaces=network_interfaces,
        tag_specifications=[
            {"resource_type": "instance", "tags": tags},
            {"resource_type": "volume", "tags": tags},
        ],
        update_default_version=True,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )


class EksClusterArgs(TypedDict):
    """Inputs of an EKS cluster in a new private VPC, or of an adopted existing cluster."""

    region: pulumi.Input[str]
    """AWS region, e.g. us-east-1 (used in the kubeconfig's token command)."""
    zone_count: int
    """How many availability zones get a private subnet (and a NAT gateway); 1-6."""
    tags: dict[str, str]
    """Cost tags every resource carries: team, environment, cost-center, managed-by."""
    existing_cluster_name: NotRequired[str]
    """Adopt this existing EKS cluster instead of creating a VPC and cluster."""
    kubernetes_version: NotRequired[str]
    """EKS Kubernetes version; defaults to 1.34."""
    public_endpoint_cidrs: NotRequired[list[str]]
    """CIDRs allowed to reach a public API endpoint; empty (default) keeps the endpoint private only."""
    availability_zones: NotRequired[list[str]]
    """Explicit zone names; by default the first `zone_count` available zones of the region."""


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with private worker subnets across zones and a small on-demand system node group."""

    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) that authenticates through `aws eks get-token`."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets for node groups, one per zone."""
    cluster_security_group_id: pulumi.Output[str]
    """The cluster security group EKS attaches to managed nodes."""
    vpc_id: pulumi.Output[str]
    """VPC of the cluster."""

    _endpoint: pulumi.Output[str]
    _ca: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:EksCluster", name, None, opts)
        tags = check_tags("EksCluster", args.get("tags"))
        zone_count, cidrs = check_cluster_network(
            "EksCluster", args.get("zone_count"), 6, args.get("public_endpoint_cidrs")
        )

        existing = args.get("existing_cluster_name")
        if existing:
            self._adopt(existing)
        else:
            self._create(name, args, tags, zone_count, cidrs)
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(
                self.cluster_name, self._endpoint, self._ca, pulumi.Output.from_input(args["region"])
            ).apply(lambda v: _kubeconfig(str(v[0]), str(v[1]), str(v[2]), str(v[3])))
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "kubeconfig": self.kubeconfig,
                "private_subnet_ids": self.private_subnet_ids,
                "cluster_security_group_id": self.cluster_security_group_id,
                "vpc_id": self.vpc_id,
            }
        )

    def _adopt(self, existing: str) -> None:
        found = aws.eks.get_cluster_output(name=existing, opts=pulumi.InvokeOutputOptions(parent=self))
        self.cluster_name = found.name
        self._endpoint = found.endpoint
        self._ca = found.certificate_authorities.apply(lambda c: c[0].data)
        self.private_subnet_ids = found.vpc_config.apply(lambda v: list(v.subnet_ids))
        self.cluster_security_group_id = found.vpc_config.apply(lambda v: v.cluster_security_group_id)
        self.vpc_id = found.vpc_config.apply(lambda v: v.vpc_id)

    def _create(self, name: str, args: EksClusterArgs, tags: dict[str, str], zone_count: int, cidrs: list[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        explicit = args.get("availability_zones")
        if explicit is not None and len(explicit) < zone_count:
            raise ValueError(
                f"EksCluster: availability_zones lists {len(explicit)} zones but zone_count={zone_count}; "
                "allowed: at least zone_count names"
            )
        zone_names: pulumi.Output[list[str]] = (
            pulumi.Output.from_input(list(explicit))
            if explicit is not None
            else aws.get_availability_zones_output(
                state="available", opts=pulumi.InvokeOutputOptions(parent=self)
            ).names
        )
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=_VPC_CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": f"{name}-vpc"},
            opts=child,
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": igw.id}],
            tags=tags,
            opts=child,
        )
        private_subnets: list[aws.ec2.Subnet] = []
        for i in range(zone_count):
            az = pulumi.Output.all(zone_names, args["region"]).apply(_nth_zone(i))
            public = aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=vpc.id,
                cidr_block=f"10.0.{192 + i}.0/24",
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, "kubernetes.io/role/elb": "1", "Name": f"{name}-public-{i}"},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{i}-rta", subnet_id=public.id, route_table_id=public_rt.id, opts=child
            )
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", tags=tags, opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public.id, tags=tags, opts=child
            )
            # /19 per zone: the VPC CNI gives every pod a VPC address.
            private = aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=vpc.id,
                cidr_block=f"10.0.{32 * i}.0/19",
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**tags, "kubernetes.io/role/internal-elb": "1", "Name": f"{name}-private-{i}"},
                opts=child,
            )
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{i}-rt",
                vpc_id=vpc.id,
                routes=[{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}],
                tags=tags,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{i}-rta", subnet_id=private.id, route_table_id=private_rt.id, opts=child
            )
            private_subnets.append(private)

        role = aws.iam.Role(
            f"{name}-cluster-role", assume_role_policy=_assume_role_policy("eks.amazonaws.com"), tags=tags, opts=child
        )
        attach = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes secrets of {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        subnet_ids = [s.id for s in private_subnets]
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            role_arn=role.arn,
            version=args.get("kubernetes_version", _DEFAULT_K8S_VERSION),
            vpc_config={
                "subnet_ids": subnet_ids,
                "endpoint_private_access": True,
                "endpoint_public_access": bool(cidrs),
                "public_access_cidrs": cidrs or None,
            },
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attach]),
        )
        self.cluster_name = cluster.name
        self._endpoint = cluster.endpoint
        self._ca = cluster.certificate_authority.apply(lambda c: (c.data if c else None) or "")
        self.private_subnet_ids = pulumi.Output.all(*subnet_ids).apply(lambda ids: [str(x) for x in ids])
        self.cluster_security_group_id = cluster.vpc_config.apply(
            lambda v: (v.cluster_security_group_id if v else None) or ""
        )
        self.vpc_id = vpc.id

        # kube-system, KEDA and Prometheus run here so GPU nodes only host model servers.
        system_tags = {**tags, PRICING_LABEL: "on_demand"}
        system_role = _node_role(self, f"{name}-system", tags)
        system_lt = _launch_template(
            self,
            f"{name}-system",
            root_volume_gib=_SYSTEM.system_node_root_volume_gib,
            device_name="/dev/xvda",
            tags=tags,
        )
        aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=system_role.arn,
            subnet_ids=subnet_ids,
            instance_types=[_SYSTEM.system_node_instance_type],
            capacity_type="ON_DEMAND",
            ami_type="AL2023_x86_64_STANDARD",
            scaling_config={
                "min_size": _SYSTEM.system_node_count,
                "desired_size": _SYSTEM.system_node_count,
                "max_size": _SYSTEM.system_node_count,
            },
            launch_template={"id": system_lt.id, "version": system_lt.latest_version.apply(str)},
            labels=dict(_SYSTEM_POOL),
            tags=system_tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster]),
        )


def _nth_zone(i: int) -> Callable[[list[Any]], str]:
    def pick(values: list[Any]) -> str:
        names, region = values
        # An engine without the zone lookup (offline preview) still gets the region's conventional names.
        return sorted(names)[i] if names else f"{region}{'abcdef'[i]}"

    return pick


def _kubeconfig(cluster: str, endpoint: str, ca: str, region: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster, "cluster": {"server": endpoint, "certificate-authority-data": ca}}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "current-context": cluster,
            "users": [
                {
                    "name": cluster,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        }
    )


class GpuNodeGroupArgs(TypedDict):
    """Inputs of one EKS managed GPU node group."""

    cluster_name: pulumi.Input[str]
    """EKS cluster the nodes join."""
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets for the nodes (only the first is used when a replica spans nodes)."""
    instance_type: str
    """EC2 instance type, e.g. g6e.xlarge or p5.48xlarge."""
    accelerator: str
    """Canonical accelerator id (H100, L4, ...), recorded as a node label."""
    accelerators_per_node: int
    """GPUs per instance."""
    pricing: str
    """Pricing mode: on_demand, spot, 1y or 3y (commitments run on on-demand capacity)."""
    min_size: int
    """Minimum node count."""
    desired_size: int
    """Initial node count; the cluster autoscaler owns it afterwards."""
    max_size: int
    """Maximum node count."""
    root_volume_gib: int
    """Encrypted gp3 root volume size, GiB: large enough to cache the model weights."""
    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    nodes_per_replica: NotRequired[int]
    """Nodes one model replica spans; above 1 adds EFA networking and a cluster placement group."""
    ami_type: NotRequired[str]
    """EKS GPU AMI type; AL2023_x86_64_NVIDIA (default) or BOTTLEROCKET_x86_64_NVIDIA."""
    security_group_ids: NotRequired[pulumi.Input[list[str]]]
    """Security groups of the EFA interface (the cluster security group); required when nodes_per_replica > 1."""


class GpuNodeGroup(pulumi.ComponentResource):
    """An EKS managed node group of GPU instances, tainted so only GPU workloads land on it."""

    node_group_name: pulumi.Output[str]
    """Name of the EKS node group."""
    node_role_arn: pulumi.Output[str]
    """IAM role of the nodes."""
    launch_template_id: pulumi.Output[str]
    """Launch template of the nodes."""
    autoscaling_group_name: pulumi.Output[str]
    """Auto Scaling group EKS created for the node group (what the Cluster Autoscaler resizes)."""

    def __init__(self, name: str, args: GpuNodeGroupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:GpuNodeGroup", name, None, opts)
        comp = "GpuNodeGroup"
        tags = check_tags(comp, args.get("tags"))
        pricing = check_choice(comp, "pricing", args.get("pricing"), PRICING_MODES)
        ami_type = check_choice(comp, "ami_type", args.get("ami_type", GPU_AMI_TYPES[0]), GPU_AMI_TYPES)
        lo, want, hi = check_scaling(comp, args.get("min_size"), args.get("desired_size"), args.get("max_size"))
        root_gib = check_positive(comp, "root_volume_gib", args.get("root_volume_gib"), minimum=20)
        gpus = check_positive(comp, "accelerators_per_node", args.get("accelerators_per_node"))
        span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica", 1))
        instance_type = args.get("instance_type")
        if not isinstance(instance_type, str) or "." not in instance_type:
            raise ValueError(
                f"{comp}: instance_type={instance_type!r} is not valid; allowed: an EC2 type like g6e.xlarge"
            )
        if span > 1 and "security_group_ids" not in args:
            raise ValueError(f"{comp}: nodes_per_replica={span} needs security_group_ids for the EFA interface")
        accelerator = args.get("accelerator")
        if not isinstance(accelerator, str) or not _LABEL_VALUE.match(accelerator):
            raise ValueError(
                f"{comp}: accelerator={accelerator!r} is not valid; allowed: a canonical id such as L4, H100, A100-80GB"
            )

        node_tags = {**tags, PRICING_LABEL: pricing}
        role = _node_role(self, name, tags)
        placement: aws.ec2.PlacementGroup | None = None
        subnet_ids: pulumi.Input[list[str]] = args["subnet_ids"]
        if span > 1:
            # Tensor/pipeline traffic between the nodes of a replica needs one AZ and a cluster placement group.
            placement = aws.ec2.PlacementGroup(
                f"{name}-pg", strategy="cluster", tags=node_tags, opts=pulumi.ResourceOptions(parent=self)
            )
            subnet_ids = pulumi.Output.from_input(args["subnet_ids"]).apply(lambda ids: [ids[0]])
        lt = _launch_template(
            self,
            name,
            root_volume_gib=root_gib,
            device_name="/dev/xvdb" if ami_type.startswith("BOTTLEROCKET") else "/dev/xvda",
            tags=node_tags,
            placement_group=placement,
            efa_security_group_ids=args.get("security_group_ids") if span > 1 else None,
        )
        labels = {
            GPU_LABEL: "true",
            ACCELERATOR_LABEL: accelerator,
            PRICING_LABEL: pricing,
            "servestack.io/gpus-per-node": str(gpus),
            _CA_GPU_LABEL: f"nvidia-{accelerator.lower()}",
        }
        group = aws.eks.NodeGroup(
            f"{name}-ng",
            cluster_name=args["cluster_name"],
            node_role_arn=role.arn,
            subnet_ids=subnet_ids,
            instance_types=[instance_type],
            capacity_type=capacity_type_for(pricing),
            ami_type=ami_type,
            scaling_config={"min_size": lo, "desired_size": want, "max_size": hi},
            launch_template={"id": lt.id, "version": lt.latest_version.apply(str)},
            labels=labels,
            taints=[{"key": GPU_TAINT_KEY, "value": "true", "effect": "NO_SCHEDULE"}],
            update_config={"max_unavailable": 1},
            tags=node_tags,
            # The cluster autoscaler moves desired_size; a later `pulumi up` must not reset it.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        self.node_group_name = group.node_group_name
        self.node_role_arn = role.arn
        self.launch_template_id = lt.id
        self.autoscaling_group_name = group.resources.apply(_first_autoscaling_group)
        if lo == 0:
            # With no node to copy from, the autoscaler learns what a new node offers from ASG tags; EKS tags
            # a managed node group's ASG for auto-discovery but copies none of the node group's own tags there.
            for suffix, key, value in scale_from_zero_tags(labels, gpus):
                aws.autoscaling.Tag(
                    f"{name}-{suffix}",
                    autoscaling_group_name=self.autoscaling_group_name,
                    tag={"key": key, "value": value, "propagate_at_launch": False},
                    opts=pulumi.ResourceOptions(parent=self),
                )
        self.register_outputs(
            {
                "node_group_name": self.node_group_name,
                "node_role_arn": self.node_role_arn,
                "launch_template_id": self.launch_template_id,
                "autoscaling_group_name": self.autoscaling_group_name,
            }
        )


def scale_from_zero_tags(labels: dict[str, str], gpus: int) -> list[tuple[str, str, str]]:
    """(resource-name suffix, ASG tag key, value) telling the Cluster Autoscaler what a GPU node from zero offers:
    its GPU count, its labels and the GPU taint (`value:Effect`, the autoscaler's taint tag format)."""
    template = f"{CLUSTER_AUTOSCALER_TAG_PREFIX}/node-template"
    tags = [
        ("ca-gpus", f"{template}/resources/{GPU_TAINT_KEY}", str(gpus)),
        ("ca-taint-gpu", f"{template}/taint/{GPU_TAINT_KEY}", "true:NoSchedule"),
    ]
    for key in sorted(labels):
        suffix = "ca-label-" + re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")
        tags.append((suffix, f"{template}/label/{key}", labels[key]))
    return tags


def _first_autoscaling_group(resources: Sequence[Any] | None) -> str:
    for resource in resources or []:
        for asg in getattr(resource, "autoscaling_groups", None) or []:
            name = getattr(asg, "name", None)
            if name:
                return str(name)
    raise ValueError("GpuNodeGroup: EKS reported no Auto Scaling group for the node group (resources is empty)")


class ContainerRegistryArgs(TypedDict):
    """Inputs of an ECR repository for serving images."""

    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    kms_key_arn: NotRequired[pulumi.Input[str]]
    """Customer-managed KMS key; the AWS-managed ECR key is used when absent."""
    untagged_expiry_days: NotRequired[int]
    """Untagged images are deleted after this many days (default 7)."""
    keep_images: NotRequired[int]
    """At most this many images are kept (default 50)."""


class ContainerRegistry(pulumi.ComponentResource):
    """An ECR repository with immutable tags, scan on push, KMS encryption and a lifecycle policy."""

    repository_url: pulumi.Output[str]
    """Registry URL to push to."""
    repository_arn: pulumi.Output[str]
    """ARN of the repository."""

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ContainerRegistry", name, None, opts)
        tags = check_tags("ContainerRegistry", args.get("tags"))
        expiry = check_positive("ContainerRegistry", "untagged_expiry_days", args.get("untagged_expiry_days", 7))
        keep = check_positive("ContainerRegistry", "keep_images", args.get("keep_images", 50))
        kms_key = args.get("kms_key_arn")
        repo = aws.ecr.Repository(
            f"{name}-repo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": kms_key}],
            force_delete=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repo.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"expire untagged images after {expiry} days",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": expiry,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"keep the newest {keep} images",
                            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = repo.repository_url
        self.repository_arn = repo.arn
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})


class ClusterAutoscalerArgs(TypedDict):
    """Inputs of the Kubernetes Cluster Autoscaler for an EKS cluster's managed node groups."""

    cluster_name: pulumi.Input[str]
    """EKS cluster whose managed node groups the autoscaler discovers (by the tags EKS puts on their ASGs)."""
    region: pulumi.Input[str]
    """AWS region of the cluster, e.g. us-east-1."""
    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    kubernetes_version: NotRequired[str]
    """Kubernetes minor version of the cluster (the autoscaler's must match); 1.33 or 1.34 (default)."""
    install_pod_identity_agent: NotRequired[bool]
    """Install the eks-pod-identity-agent add-on (default true); false when the cluster already runs it."""
    scale_down_delay: NotRequired[str]
    """How long a node must stay unneeded, and how long after a scale-up, before it is removed (default 10m)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the cluster; the Kubernetes provider passed in opts (or the ambient one) when absent."""


class ClusterAutoscaler(pulumi.ComponentResource):
    """The Kubernetes Cluster Autoscaler on the system node group, with an EKS Pod Identity role that may only
    describe scaling groups and resize or shrink the ones EKS tagged as owned by this cluster."""

    role_arn: pulumi.Output[str]
    """IAM role the autoscaler's service account assumes."""
    service_account: pulumi.Output[str]
    """Namespace/name of the autoscaler's Kubernetes service account."""
    release_name: pulumi.Output[str]
    """Name of the Helm release."""

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ClusterAutoscaler", name, None, opts)
        comp = "ClusterAutoscaler"
        tags = check_tags(comp, args.get("tags"))
        requested = args.get("kubernetes_version", _DEFAULT_K8S_VERSION)
        version = check_choice(comp, "kubernetes_version", requested, CLUSTER_AUTOSCALER_RELEASES)
        delay = args.get("scale_down_delay", "10m")
        if not isinstance(delay, str) or not _DURATION.match(delay):
            raise ValueError(f"{comp}: scale_down_delay={delay!r} is not valid; allowed: a duration like 90s, 10m, 1h")
        chart_version, image_tag = CLUSTER_AUTOSCALER_RELEASES[version]
        # Children wait for what the component waits for (the cluster and its system nodes).
        depends_on = opts.depends_on if opts is not None and opts.depends_on is not None else None
        aws_child = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        kube_child = aws_child
        if "kubeconfig" in args:
            provider = k8s.Provider(
                f"{name}-k8s", kubeconfig=args["kubeconfig"], opts=pulumi.ResourceOptions(parent=self)
            )
            kube_child = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=depends_on)

        cluster_name = pulumi.Output.from_input(args["cluster_name"])
        region = pulumi.Output.from_input(args["region"])
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=_assume_role_policy("pods.eks.amazonaws.com"),
            description="Cluster Autoscaler (EKS Pod Identity)",
            tags=tags,
            opts=aws_child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(partition, region, cluster_name).apply(
                lambda v: json.dumps(cluster_autoscaler_policy(str(v[0]), str(v[1]), str(v[2])))
            ),
            opts=aws_child,
        )
        ready: list[pulumi.Resource] = []
        if args.get("install_pod_identity_agent", True):
            ready.append(
                aws.eks.Addon(
                    f"{name}-pod-identity-agent",
                    cluster_name=cluster_name,
                    addon_name="eks-pod-identity-agent",
                    tags=tags,
                    opts=aws_child,
                )
            )
        ready.append(
            aws.eks.PodIdentityAssociation(
                f"{name}-pod-identity",
                cluster_name=cluster_name,
                namespace=_CA_NAMESPACE,
                service_account=_CA_SERVICE_ACCOUNT,
                role_arn=role.arn,
                tags=tags,
                opts=aws_child,
            )
        )
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="cluster-autoscaler",
            chart="cluster-autoscaler",
            version=chart_version,
            repository_opts={"repo": _CA_CHART_REPO},
            namespace=_CA_NAMESPACE,
            values={
                "cloudProvider": "aws",
                "awsRegion": region,
                "autoDiscovery": {"clusterName": cluster_name},
                "fullnameOverride": "cluster-autoscaler",
                "image": {"tag": image_tag},
                "rbac": {"serviceAccount": {"create": True, "name": _CA_SERVICE_ACCOUNT}},
                "nodeSelector": dict(_SYSTEM_POOL),
                "extraArgs": {
                    # Strings, not YAML booleans: the chart renders each entry as --key=value.
                    "balance-similar-node-groups": "true",
                    # kube-system DaemonSets (device plugin, pod identity agent) must not pin GPU nodes.
                    "skip-nodes-with-system-pods": "false",
                    # Fewest idle GPUs/CPU after the scale-up when more than one group fits a pod.
                    "expander": "least-waste",
                    "scale-down-delay-after-add": delay,
                    "scale-down-unneeded-time": delay,
                },
            },
            # The pod must start with the Pod Identity credentials the agent hands out for its service account.
            opts=pulumi.ResourceOptions.merge(kube_child, pulumi.ResourceOptions(depends_on=ready)),
        )
        self.role_arn = role.arn
        self.service_account = pulumi.Output.from_input(f"{_CA_NAMESPACE}/{_CA_SERVICE_ACCOUNT}")
        self.release_name = release.name.apply(lambda n: n or "cluster-autoscaler")
        self.register_outputs(
            {"role_arn": self.role_arn, "service_account": self.service_account, "release_name": self.release_name}
        )


def cluster_autoscaler_policy(partition: str, region: str, cluster_name: str) -> dict[str, Any]:
    """The autoscaler's IAM policy: read-only discovery, and resizing only ASGs EKS tagged for this cluster.

    Actions follow the AWS provider README of kubernetes/autoscaler (cluster-autoscaler/cloudprovider/aws),
    minus `ec2:GetInstanceTypesFromInstanceRequirements`, which only attribute-based mixed-instance groups need.
    The autoscaling and EC2 Describe calls support no resource-level scoping, so they name `*`.
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DiscoverScalingGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                ],
                "Resource": "*",
            },
            {
                "Sid": "DescribeOwnNodegroups",
                "Effect": "Allow",
                "Action": ["eks:DescribeNodegroup"],
                "Resource": f"arn:{partition}:eks:{region}:*:nodegroup/{cluster_name}/*",
            },
            {
                "Sid": "ResizeOwnedGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        f"aws:ResourceTag/{CLUSTER_AUTOSCALER_TAG_PREFIX}/{cluster_name}": "owned",
                        f"aws:ResourceTag/{CLUSTER_AUTOSCALER_TAG_PREFIX}/enabled": "true",
                    }
                },
            },
        ],
    }
