"""The AWS side of a deployment: EKS cluster, ECR, Cluster Autoscaler once; GPU node groups and Pod Identity per pool.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json

import pulumi
import pulumi_aws as aws

from servestack.catalog.load import load_catalog
from servestack.components._common import mirrored_image
from servestack.components.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from servestack.components.aws.cluster import EksCluster, EksClusterArgs
from servestack.components.aws.identity import server_secret_reader
from servestack.components.aws.node_group import GpuNodeGroup, GpuNodeGroupArgs
from servestack.components.aws.quota import check_needs
from servestack.components.aws.registry import (
    DOCKER_HUB_PREFIX,
    ContainerRegistry,
    ContainerRegistryArgs,
)
from servestack.components.cloud import CloudCluster, CloudSpec, GpuGroupSpec, PoolCapacity, PoolSpec
from servestack.components.quotas import CapacityGroup, aws_quota_needs, merge_needs


class AwsAdapter:
    """One per deployment (it remembers the Pod Identity agent it installed for the add-ons that need it)."""

    cloud = "aws"

    def __init__(self) -> None:
        self._agent: list[pulumi.Resource] = []

    def preflight(self, spec: CloudSpec) -> None:
        needs = []
        for pool in spec.pools:
            facts = load_catalog().instance_facts("aws", pool.instance_type)
            if facts is None:
                pulumi.log.info(f"quota preflight: {pool.instance_type} is not in the catalog; EC2 quota not checked")
                continue
            groups = [CapacityGroup(g.pricing, g.max_size) for g in pool.groups]
            needs += aws_quota_needs(pool.instance_type, facts.vcpus, spec.region, groups)
        check_needs(merge_needs(needs))

    def provision_cluster(self, parent: pulumi.Resource, spec: CloudSpec) -> CloudCluster:
        name = spec.name
        child = pulumi.ResourceOptions(parent=parent)
        cluster_args: EksClusterArgs = {
            "region": spec.region,
            "zone_count": spec.zone_count,
            "tags": spec.tags,
            "api_access": spec.api_access,
            "api_cidrs": list(spec.api_cidrs),
            "cluster_admins": list(spec.cluster_admins),
        }
        if spec.zone_names is not None:
            cluster_args["zone_names"] = list(spec.zone_names)
        if spec.kubernetes_version:
            cluster_args["kubernetes_version"] = spec.kubernetes_version
        if spec.existing_cluster_name:
            cluster_args["existing_cluster_name"] = spec.existing_cluster_name
        cluster = EksCluster(f"{name}-cluster", cluster_args, opts=child)

        registry_args: ContainerRegistryArgs = {"tags": spec.tags}
        if spec.docker_hub_credential_arn:
            registry_args["docker_hub_credential_arn"] = spec.docker_hub_credential_arn
        registry = ContainerRegistry(f"{name}-registry", registry_args, opts=child)

        agent: list[pulumi.Resource] = []
        if not spec.existing_cluster_name:
            # Pod Identity hands AWS credentials to the serving pods and the autoscaler; its agent is a DaemonSet,
            # so it waits for nodes. An adopted cluster's owner runs its add-ons (EKS refuses a second copy).
            agent.append(
                aws.eks.Addon(
                    f"{name}-pod-identity-agent",
                    cluster_name=cluster.cluster_name,
                    addon_name="eks-pod-identity-agent",
                    tags=spec.tags,
                    opts=pulumi.ResourceOptions(parent=parent, depends_on=cluster.ready),
                )
            )
        self._agent = agent
        return CloudCluster(
            cloud=self.cloud,
            kubeconfig=cluster.kubeconfig,
            cluster_name=cluster.cluster_name,
            registry_url=registry.repository_url,
            server_image=self._server_image(parent, spec),
            ready=cluster.ready,
            hf_token_secret_ref=spec.hf_token_secret,
            # The AL2023 NVIDIA AMI ships the driver but not the device plugin.
            needs_nvidia_device_plugin=True,
            handle=cluster,
        )

    def provision_pool(
        self, parent: pulumi.Resource, spec: CloudSpec, pool: PoolSpec, cluster: CloudCluster
    ) -> PoolCapacity:
        eks = cluster.handle
        assert isinstance(eks, EksCluster), "provision_pool takes the CloudCluster provision_cluster returned"
        groups = {g.role: self._gpu_group(parent, pool, eks, g) for g in pool.groups}
        if spec.docker_hub_credential_arn:
            for role, group in groups.items():
                self._allow_pull_through(parent, f"{pool.name}-gpu-{role}", group, spec.region)
        identity: list[pulumi.Resource] = []
        if spec.hf_token_secret:
            identity.append(
                server_secret_reader(
                    parent,
                    pool.name,
                    cluster_name=eks.cluster_name,
                    region=spec.region,
                    namespace=pool.namespace,
                    service_account=pool.server_service_account,
                    secret_name=spec.hf_token_secret,
                    tags=pool.tags,
                    depends_on=self._agent,
                )
            )
        return PoolCapacity(
            server_service_account=pool.server_service_account,
            # Pod Identity matches the association's namespace and service account: no annotation.
            server_service_account_annotations=pulumi.Output.from_input({}),
            efa_interfaces=self.efa_interfaces(pool),
            groups=list(groups.values()),
            identity_ready=identity,
        )

    def efa_interfaces(self, pool: PoolSpec) -> int:
        # EFA carries the traffic between the nodes of a replica; single-node replicas need none.
        return pool.efa_interfaces if pool.nodes_per_replica > 1 else 0

    def install_add_ons(
        self, parent: pulumi.Resource, spec: CloudSpec, cluster: CloudCluster, kube: pulumi.ResourceOptions
    ) -> None:
        if not spec.bursts:
            return
        # GKE grows node pools itself; on EKS nothing resizes the burst groups' ASGs without this. One autoscaler
        # serves every pool: it discovers the groups by their ASG tags.
        autoscaler_args: ClusterAutoscalerArgs = {
            "cluster_name": cluster.cluster_name,
            "region": spec.region,
            "tags": spec.tags,
            # The adapter installs the Pod Identity agent once for every user of it (server and autoscaler).
            "install_pod_identity_agent": False,
        }
        if spec.kubernetes_version:
            autoscaler_args["kubernetes_version"] = spec.kubernetes_version
        ClusterAutoscaler(
            f"{spec.name}-cluster-autoscaler",
            autoscaler_args,
            opts=pulumi.ResourceOptions.merge(
                kube, pulumi.ResourceOptions(parent=parent, depends_on=[*cluster.ready, *self._agent])
            ),
        )

    def _gpu_group(
        self, parent: pulumi.Resource, pool: PoolSpec, cluster: EksCluster, g: GpuGroupSpec
    ) -> GpuNodeGroup:
        args: GpuNodeGroupArgs = {
            "cluster_name": cluster.cluster_name,
            "subnet_ids": cluster.private_subnet_ids,
            "instance_type": pool.instance_type,
            "accelerator": pool.accelerator,
            "accelerators_per_node": pool.accelerators_per_node,
            "pricing": g.pricing,
            "min_size": g.min_size,
            "desired_size": g.desired_size,
            "max_size": g.max_size,
            "root_volume_gib": pool.root_volume_gib,
            "tags": pool.tags,
            "nodes_per_replica": pool.nodes_per_replica,
        }
        if pool.pool_label is not None:
            args["pool"] = pool.pool_label
        if pool.node_launch_s is not None:
            args["node_launch_s"] = pool.node_launch_s
        if g.pricing == "spot" and pool.spot_instance_types:
            args["spot_instance_types"] = pool.spot_instance_types
        if pool.root_volume_throughput_mibps is not None:
            args["root_volume_throughput_mibps"] = pool.root_volume_throughput_mibps
        if pool.root_volume_iops is not None:
            args["root_volume_iops"] = pool.root_volume_iops
        if pool.nodes_per_replica > 1:
            args["security_group_ids"] = cluster.cluster_security_group_id.apply(lambda sg: [sg])
            if pool.efa_interfaces > 0:
                args["efa_interfaces"] = pool.efa_interfaces
        return GpuNodeGroup(f"{pool.name}-gpu-{g.role}", args, opts=pulumi.ResourceOptions(parent=parent))

    @staticmethod
    def _server_image(parent: pulumi.Resource, spec: CloudSpec) -> str:
        """The serving image through the Docker Hub cache when there is one. The registry host is derived from
        the account (a plain string, as the model server pins and checks its image at registration)."""
        if not spec.docker_hub_credential_arn:
            return spec.image
        invoke = pulumi.InvokeOptions(parent=parent)
        account = aws.get_caller_identity(opts=invoke).account_id
        suffix = aws.get_partition(opts=invoke).dns_suffix or "amazonaws.com"
        if not account:
            pulumi.log.warn("the account id is unknown, so the server pulls its image from Docker Hub directly")
            return spec.image
        return mirrored_image(f"{account}.dkr.ecr.{spec.region}.{suffix}/{DOCKER_HUB_PREFIX}", spec.image)

    @staticmethod
    def _allow_pull_through(parent: pulumi.Resource, name: str, group: GpuNodeGroup, region: str) -> None:
        """The first pull through the cache creates the repository and imports the image as the node's role."""
        invoke = pulumi.InvokeOutputOptions(parent=parent)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        policy = pulumi.Output.all(partition, account).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "FillTheDockerHubCache",
                            "Effect": "Allow",
                            "Action": ["ecr:CreateRepository", "ecr:BatchImportUpstreamImage"],
                            "Resource": f"arn:{v[0]}:ecr:{region}:{v[1]}:repository/{DOCKER_HUB_PREFIX}/*",
                        }
                    ],
                }
            )
        )
        aws.iam.RolePolicy(
            f"{name}-pull-through",
            role=group.node_role_arn.apply(lambda arn: arn.rsplit("/", 1)[-1]),
            policy=policy,
            opts=pulumi.ResourceOptions(parent=parent),
        )


Adapter = AwsAdapter
