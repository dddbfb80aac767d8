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
    check_api_access,
    check_tags,
    check_zones,
)
from servestack.components.aws._shared import (
    _SYSTEM,
    _SYSTEM_POOL,
    _assume_role_policy,
    _launch_template,
    _node_role,
)
from servestack.components.aws.network import create_network
from servestack.versions import DEFAULT_KUBERNETES_VERSION

CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


class EksClusterArgs(TypedDict):
    """Inputs of an EKS cluster in a new private VPC, or of an adopted existing cluster."""

    region: pulumi.Input[str]
    """AWS region, e.g. us-east-1 (used in the kubeconfig's token command)."""
    zone_count: int
    """How many availability zones host nodes (each gets a private subnet and a NAT gateway); 1-6."""
    tags: dict[str, str]
    """Cost tags every resource carries: team, environment, cost-center, managed-by."""
    api_access: str
    """Cluster API endpoint: "private" (reachable from inside the VPC only) or "cidrs" (public, limited to
    api_cidrs, private access kept)."""
    api_cidrs: NotRequired[list[str]]
    """CIDRs allowed to the public endpoint when api_access is "cidrs" (never 0.0.0.0/0)."""
    zone_names: NotRequired[list[str]]
    """The node zones (zone_count names, where the instance type is offered); by default the region's
    available zones in name order."""
    existing_cluster_name: NotRequired[str]
    """Adopt this existing EKS cluster instead of creating a VPC and cluster."""
    kubernetes_version: NotRequired[str]
    """EKS Kubernetes version; defaults to servestack.versions.DEFAULT_KUBERNETES_VERSION."""
    cluster_admins: NotRequired[list[str]]
    """IAM principal ARNs (e.g. CI roles) given an EKS access entry with AmazonEKSClusterAdminPolicy."""


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with private worker subnets across zones and a small on-demand system node group."""

    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) that authenticates through `aws eks get-token`."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets for node groups, one per node zone."""
    cluster_security_group_id: pulumi.Output[str]
    """The cluster security group EKS attaches to managed nodes."""
    vpc_id: pulumi.Output[str]
    """VPC of the cluster."""
    system_node_group_name: pulumi.Output[str]
    """Node group of the cluster add-ons; Kubernetes resources wait for it (empty on an adopted cluster)."""

    _endpoint: pulumi.Output[str]
    _ca: pulumi.Output[str]
    _system_node_group: pulumi.Resource | None

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:EksCluster", name, None, opts)
        tags = check_tags("EksCluster", args.get("tags"))
        zone_count, zone_names = check_zones("EksCluster", args.get("zone_count"), 6, args.get("zone_names"))
        access, cidrs = check_api_access("EksCluster", args.get("api_access"), args.get("api_cidrs"))
        admins = list(args.get("cluster_admins") or [])
        bad = [a for a in admins if not a.startswith("arn:")]
        if bad:
            raise ValueError(f"EksCluster: cluster_admins entry {bad[0]!r} is not valid; allowed: IAM principal ARNs")

        self._system_node_group = None
        existing = args.get("existing_cluster_name")
        if existing:
            self._adopt(existing)
        else:
            self._create(name, args, tags, zone_count, zone_names, access, cidrs)
        for i, principal in enumerate(admins):
            self._grant_admin(name, i, principal, tags)
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
                "system_node_group_name": self.system_node_group_name,
            }
        )

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What Kubernetes and Helm resources on this cluster must wait for: the system node group (their
        pods have nowhere to run before it), and on destroy it stays until they are gone."""
        return [self._system_node_group] if self._system_node_group is not None else []

    def _adopt(self, existing: str) -> None:
        found = aws.eks.get_cluster_output(name=existing, opts=pulumi.InvokeOutputOptions(parent=self))
        self.cluster_name = found.name
        self._endpoint = found.endpoint
        self._ca = found.certificate_authorities.apply(lambda c: c[0].data)
        self.private_subnet_ids = found.vpc_config.apply(lambda v: list(v.subnet_ids))
        self.cluster_security_group_id = found.vpc_config.apply(lambda v: v.cluster_security_group_id)
        self.vpc_id = found.vpc_config.apply(lambda v: v.vpc_id)
        self.system_node_group_name = pulumi.Output.from_input("")

    def _grant_admin(self, name: str, index: int, principal: str, tags: dict[str, str]) -> None:
        """An access entry with cluster-wide admin, so a CI role (not only the creating identity) can deploy."""
        entry = aws.eks.AccessEntry(
            f"{name}-admin-{index}",
            cluster_name=self.cluster_name,
            principal_arn=principal,
            type="STANDARD",
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.eks.AccessPolicyAssociation(
            f"{name}-admin-{index}-policy",
            cluster_name=self.cluster_name,
            principal_arn=entry.principal_arn,
            policy_arn=CLUSTER_ADMIN_POLICY,
            access_scope={"type": "cluster"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _create(
        self,
        name: str,
        args: EksClusterArgs,
        tags: dict[str, str],
        zone_count: int,
        zone_names: list[str] | None,
        access: str,
        cidrs: list[str],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        network = create_network(
            self, name, region=args["region"], zone_count=zone_count, zone_names=zone_names, tags=tags
        )
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
        node_subnet_ids = [s.id for s in network.node_subnets]
        public = access == "cidrs"
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            role_arn=role.arn,
            version=args.get("kubernetes_version", DEFAULT_KUBERNETES_VERSION),
            vpc_config={
                # EKS needs subnets in two zones even when the nodes use one.
                "subnet_ids": [s.id for s in network.control_plane_subnets],
                # Private access stays on either way: nodes reach the API inside the VPC.
                "endpoint_private_access": True,
                "endpoint_public_access": public,
                "public_access_cidrs": cidrs if public else None,
            },
            # Access entries (cluster_admins) and the aws-auth ConfigMap both work, so an adopted tool chain
            # that still writes aws-auth keeps working.
            access_config={
                "authentication_mode": "API_AND_CONFIG_MAP",
                "bootstrap_cluster_creator_admin_permissions": True,
            },
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=["api", "audit", "authenticator"],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[attach]),
        )
        self.cluster_name = cluster.name
        self._endpoint = cluster.endpoint
        self._ca = cluster.certificate_authority.apply(lambda c: (c.data if c else None) or "")
        self.private_subnet_ids = pulumi.Output.all(*node_subnet_ids).apply(lambda ids: [str(x) for x in ids])
        self.cluster_security_group_id = cluster.vpc_config.apply(
            lambda v: (v.cluster_security_group_id if v else None) or ""
        )
        self.vpc_id = network.vpc.id

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
        system = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=system_role.role.arn,
            subnet_ids=node_subnet_ids,
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
            # Nodes join only with their policies attached, and on destroy the policies stay until they drained.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster, *system_role.attachments]),
        )
        self._system_node_group = system
        self.system_node_group_name = system.node_group_name


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
