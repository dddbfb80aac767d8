"""The GCP side of a deployment: APIs, GKE cluster, Artifact Registry once; GPU node pools, Workload Identity per pool.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import pulumi

from servestack.components._common import mirrored_image
from servestack.components.cloud import CloudCluster, CloudSpec, GpuGroupSpec, PoolCapacity, PoolSpec
from servestack.components.gcp.cluster import GkeCluster, GkeClusterArgs
from servestack.components.gcp.identity import server_secret_reader
from servestack.components.gcp.node_pool import GpuNodePool, GpuNodePoolArgs, gke_accelerator_type
from servestack.components.gcp.quota import check_needs
from servestack.components.gcp.registry import DOCKER_HUB_REPOSITORY_SUFFIX, ArtifactRegistry
from servestack.components.quotas import CapacityGroup, gcp_quota_needs, merge_needs


class GcpAdapter:
    """One per deployment."""

    cloud = "gcp"

    def preflight(self, spec: CloudSpec) -> None:
        project = _project(spec)
        needs = []
        for pool in spec.pools:
            accelerator_type = gke_accelerator_type(pool.accelerator, pool.instance_type)
            groups = [CapacityGroup(g.pricing, g.max_size) for g in pool.groups]
            needs += gcp_quota_needs(accelerator_type, pool.accelerators_per_node, spec.region, groups)
        check_needs(project, merge_needs(needs))

    def provision_cluster(self, parent: pulumi.Resource, spec: CloudSpec) -> CloudCluster:
        name = spec.name
        project = _project(spec)
        child = pulumi.ResourceOptions(parent=parent)
        cluster_args: GkeClusterArgs = {
            "project": project,
            "region": spec.region,
            "zone_count": spec.zone_count,
            "tags": spec.tags,
            "api_access": spec.api_access,
            "api_cidrs": list(spec.api_cidrs),
            "cluster_admins": list(spec.cluster_admins),
            "deletion_protection": spec.environment == "prod",
        }
        if spec.zone_names is not None:
            cluster_args["zone_names"] = list(spec.zone_names)
        if spec.kubernetes_version:
            cluster_args["kubernetes_version"] = spec.kubernetes_version
        if spec.existing_cluster_name:
            cluster_args["existing_cluster_name"] = spec.existing_cluster_name
        cluster = GkeCluster(f"{name}-cluster", cluster_args, opts=child)
        registry = ArtifactRegistry(
            f"{name}-registry",
            {"project": project, "location": spec.region, "tags": spec.tags, "docker_hub_remote": True},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=cluster.apis),
        )
        return CloudCluster(
            cloud=self.cloud,
            kubeconfig=cluster.kubeconfig,
            cluster_name=cluster.cluster_name,
            registry_url=registry.repository_url,
            # The remote repository's address is known before it exists: region, project and repository id.
            server_image=mirrored_image(
                f"{spec.region}-docker.pkg.dev/{project}/{name}-registry-{DOCKER_HUB_REPOSITORY_SUFFIX}", spec.image
            ),
            ready=cluster.ready,
            hf_token_secret_ref=f"projects/{project}/secrets/{spec.hf_token_secret}" if spec.hf_token_secret else None,
            # GKE installs the driver and the device plugin on GPU node pools itself.
            needs_nvidia_device_plugin=False,
            handle=cluster,
        )

    def provision_pool(
        self, parent: pulumi.Resource, spec: CloudSpec, pool: PoolSpec, cluster: CloudCluster
    ) -> PoolCapacity:
        gke = cluster.handle
        assert isinstance(gke, GkeCluster), "provision_pool takes the CloudCluster provision_cluster returned"
        project = _project(spec)
        groups: list[pulumi.Resource] = [self._gpu_pool(parent, spec, pool, project, gke, g) for g in pool.groups]
        annotations: pulumi.Output[dict[str, str]] = pulumi.Output.from_input({})
        identity: list[pulumi.Resource] = []
        if spec.hf_token_secret:
            gsa = server_secret_reader(
                parent,
                pool.name,
                project=project,
                namespace=pool.namespace,
                service_account=pool.server_service_account,
                secret_id=spec.hf_token_secret,
                depends_on=[*gke.apis, *gke.ready],
            )
            identity.append(gsa)
            annotations = gsa.email.apply(lambda email: {"iam.gke.io/gcp-service-account": email})
        return PoolCapacity(
            server_service_account=pool.server_service_account,
            server_service_account_annotations=annotations,
            efa_interfaces=0,
            groups=groups,
            identity_ready=identity,
        )

    def efa_interfaces(self, pool: PoolSpec) -> int:
        return 0  # EFA is AWS's; GKE multi-node replicas use the VPC network.

    def install_add_ons(
        self, parent: pulumi.Resource, spec: CloudSpec, cluster: CloudCluster, kube: pulumi.ResourceOptions
    ) -> None:
        """Nothing: GKE's own cluster autoscaler grows node pools."""

    @staticmethod
    def _gpu_pool(
        parent: pulumi.Resource, spec: CloudSpec, pool: PoolSpec, project: str, cluster: GkeCluster, g: GpuGroupSpec
    ) -> GpuNodePool:
        args: GpuNodePoolArgs = {
            "cluster": cluster.cluster_id,
            "project": project,
            "location": spec.region,
            "node_locations": cluster.node_locations,
            "zone_count": spec.zone_count,
            "machine_type": pool.instance_type,
            "accelerator": pool.accelerator,
            "accelerators_per_node": pool.accelerators_per_node,
            "pricing": g.pricing,
            "min_size": g.min_size,
            "desired_size": g.desired_size,
            "max_size": g.max_size,
            "disk_size_gb": pool.root_volume_gib,
            "service_account": cluster.node_service_account,
            "tags": pool.tags,
            "nodes_per_replica": pool.nodes_per_replica,
        }
        if pool.pool_label is not None:
            args["pool"] = pool.pool_label
        if pool.node_launch_s is not None:
            args["node_launch_s"] = pool.node_launch_s
        # Boot disks stay pd-balanced as the plan prices them (the throughput args are gp3's); GpuNodePool still
        # picks hyperdisk on the machine series that cannot boot from a persistent disk.
        return GpuNodePool(f"{pool.name}-gpu-{g.role}", args, opts=pulumi.ResourceOptions(parent=parent))


def _project(spec: CloudSpec) -> str:
    if not spec.gcp_project:
        raise ValueError("ModelDeployment: gcp_project is required on gcp (set gcp:project)")
    return spec.gcp_project


Adapter = GcpAdapter
