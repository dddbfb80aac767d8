"""The GCP side of a model deployment: APIs, GKE cluster, GPU node pools, Artifact Registry, Workload Identity.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import pulumi

from servestack.components._common import mirrored_image
from servestack.components.cloud import CloudCluster, CloudSpec, GpuGroupSpec
from servestack.components.gcp.cluster import GkeCluster, GkeClusterArgs
from servestack.components.gcp.identity import server_secret_reader
from servestack.components.gcp.node_pool import GpuNodePool, GpuNodePoolArgs, gke_accelerator_type
from servestack.components.gcp.quota import preflight as quota_preflight
from servestack.components.gcp.registry import DOCKER_HUB_REPOSITORY_SUFFIX, ArtifactRegistry
from servestack.components.quotas import CapacityGroup


class GcpAdapter:
    """One per deployment."""

    cloud = "gcp"

    def preflight(self, spec: CloudSpec) -> None:
        project = _project(spec)
        accelerator_type = gke_accelerator_type(spec.accelerator, spec.instance_type)
        groups = [CapacityGroup(g.pricing, g.max_size) for g in spec.groups]
        quota_preflight(project, accelerator_type, spec.accelerators_per_node, spec.region, groups)

    def provision(self, parent: pulumi.Resource, spec: CloudSpec) -> CloudCluster:
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
        for g in spec.groups:
            self._gpu_pool(parent, spec, project, cluster, g)
        registry = ArtifactRegistry(
            f"{name}-registry",
            {"project": project, "location": spec.region, "tags": spec.tags, "docker_hub_remote": True},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=cluster.apis),
        )
        annotations: pulumi.Output[dict[str, str]] = pulumi.Output.from_input({})
        identity: list[pulumi.Resource] = []
        secret_ref = None
        if spec.hf_token_secret:
            gsa = server_secret_reader(
                parent,
                name,
                project=project,
                namespace=spec.namespace,
                service_account=spec.server_service_account,
                secret_id=spec.hf_token_secret,
                depends_on=[*cluster.apis, *cluster.ready],
            )
            identity.append(gsa)
            annotations = gsa.email.apply(lambda email: {"iam.gke.io/gcp-service-account": email})
            secret_ref = f"projects/{project}/secrets/{spec.hf_token_secret}"
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
            server_service_account=spec.server_service_account,
            server_service_account_annotations=annotations,
            hf_token_secret_ref=secret_ref,
            # GKE installs the driver and the device plugin on GPU node pools itself.
            needs_nvidia_device_plugin=False,
            efa_interfaces=0,
            identity_ready=identity,
        )

    def install_add_ons(
        self, parent: pulumi.Resource, spec: CloudSpec, cluster: CloudCluster, kube: pulumi.ResourceOptions
    ) -> None:
        """Nothing: GKE's own cluster autoscaler grows node pools."""

    @staticmethod
    def _gpu_pool(
        parent: pulumi.Resource, spec: CloudSpec, project: str, cluster: GkeCluster, g: GpuGroupSpec
    ) -> GpuNodePool:
        args: GpuNodePoolArgs = {
            "cluster": cluster.cluster_id,
            "project": project,
            "location": spec.region,
            "node_locations": cluster.node_locations,
            "zone_count": spec.zone_count,
            "machine_type": spec.instance_type,
            "accelerator": spec.accelerator,
            "accelerators_per_node": spec.accelerators_per_node,
            "pricing": g.pricing,
            "min_size": g.min_size,
            "desired_size": g.desired_size,
            "max_size": g.max_size,
            "disk_size_gb": spec.root_volume_gib,
            "service_account": cluster.node_service_account,
            "tags": spec.tags,
            "nodes_per_replica": spec.nodes_per_replica,
        }
        if spec.node_launch_s is not None:
            args["node_launch_s"] = spec.node_launch_s
        # Boot disks stay pd-balanced as the plan prices them (the throughput args are gp3's); GpuNodePool still
        # picks hyperdisk on the machine series that cannot boot from a persistent disk.
        return GpuNodePool(f"{spec.name}-gpu-{g.role}", args, opts=pulumi.ResourceOptions(parent=parent))


def _project(spec: CloudSpec) -> str:
    if not spec.gcp_project:
        raise ValueError("ModelDeployment: gcp_project is required on gcp (set gcp:project)")
    return spec.gcp_project


Adapter = GcpAdapter
