"""EksCluster: an EKS cluster in a private VPC (or an adopted one) with a system node group.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from servestack.components._common import (
    PRICING_LABEL,
    check_cluster_network,
    check_tags,
)
from servestack.components.aws._shared import (
    _DEFAULT_K8S_VERSION,
    _SYSTEM,
    _SYSTEM_POOL,
    _VPC_CIDR,
    _assume_role_policy,
    _launch_template,
    _node_role,
)
from servestack.components.aws.network import _nth_zone


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
