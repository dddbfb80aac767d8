"""GCP components: a private GKE cluster, GPU node pools and an Artifact Registry repository.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from collections.abc import Callable
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

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
    "GkeCluster",
    "GkeClusterArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "ArtifactRegistry",
    "ArtifactRegistryArgs",
    "GKE_ACCELERATOR_TYPES",
    "gke_accelerator_type",
]

# Canonical accelerator id -> GKE accelerator type. Source: cloud.google.com/compute/docs/gpus
# ("GPU machine types" and `gcloud compute accelerator-types list`), as of 2026-11.
GKE_ACCELERATOR_TYPES: dict[str, str] = {
    "T4": "nvidia-tesla-t4",
    "V100": "nvidia-tesla-v100",
    "L4": "nvidia-l4",
    "A100-40GB": "nvidia-tesla-a100",
    "A100-80GB": "nvidia-a100-80gb",
    "H100": "nvidia-h100-80gb",
    "H200": "nvidia-h200-141gb",
    "B200": "nvidia-b200",
}
_NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# The system node group is sized from the same platform table the selector and costing price, so a
# plan's ceiling and the costed ceiling of the stack it writes agree.
_SYSTEM = platform_prices("gcp")


def gke_accelerator_type(accelerator: str, machine_type: str) -> str:
    """The GKE accelerator type of a canonical id on a machine type (A3 Mega carries the mega H100)."""
    if accelerator == "H100" and machine_type.startswith("a3-megagpu"):
        return "nvidia-h100-mega-80gb"
    try:
        return GKE_ACCELERATOR_TYPES[accelerator]
    except KeyError:
        raise ValueError(
            f"GpuNodePool: accelerator={accelerator!r} is not valid on GKE; allowed: {', '.join(GKE_ACCELERATOR_TYPES)}"
        ) from None


def _first_sorted(count: int) -> Callable[[list[str] | None], list[str]]:
    def pick(names: list[str] | None) -> list[str]:
        if not names:
            raise ValueError("GkeCluster: the region reported no zones that are UP; pass `zones` explicitly")
        return sorted(names)[:count]

    return pick


class GkeClusterArgs(TypedDict):
    """Inputs of a private regional GKE cluster, or of an adopted existing cluster."""

    project: pulumi.Input[str]
    """GCP project id."""
    region: str
    """GCP region, e.g. us-central1."""
    zone_count: int
    """How many zones of the region host nodes; 1-4."""
    tags: dict[str, str]
    """Cost labels every resource carries: team, environment, cost-center, managed-by."""
    existing_cluster_name: NotRequired[str]
    """Adopt this existing GKE cluster (in `region`) instead of creating one."""
    deletion_protection: NotRequired[bool]
    """Refuse to delete the cluster (default true)."""
    public_endpoint_cidrs: NotRequired[list[str]]
    """CIDRs allowed to reach a public control-plane endpoint; empty (default) keeps it private."""
    zones: NotRequired[list[str]]
    """Explicit zone names; by default the first `zone_count` zones of the region."""


class GkeCluster(pulumi.ComponentResource):
    """A regional GKE cluster with private nodes, workload identity, Cloud NAT and a system node pool."""

    cluster_name: pulumi.Output[str]
    """Name of the GKE cluster."""
    cluster_id: pulumi.Output[str]
    """Resource id of the cluster (node pools attach to it)."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (JSON) that authenticates through gke-gcloud-auth-plugin."""
    node_locations: pulumi.Output[list[str]]
    """Zones that host nodes."""
    node_service_account: pulumi.Output[str]
    """Least-privilege service account of the nodes (email)."""

    _endpoint: pulumi.Output[str]
    _ca: pulumi.Output[str]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:GkeCluster", name, None, opts)
        tags = check_tags("GkeCluster", args.get("tags"))
        zone_count, cidrs = check_cluster_network(
            "GkeCluster", args.get("zone_count"), 4, args.get("public_endpoint_cidrs")
        )
        explicit = args.get("zones")
        if explicit is not None and len(explicit) < zone_count:
            raise ValueError(f"GkeCluster: zones lists {len(explicit)} names but zone_count={zone_count}")
        zones: pulumi.Output[list[str]] = (
            pulumi.Output.from_input(list(explicit)[:zone_count])
            if explicit is not None
            else gcp.compute.get_zones_output(
                project=args["project"],
                region=args["region"],
                status="UP",
                opts=pulumi.InvokeOutputOptions(parent=self),
            ).names.apply(_first_sorted(zone_count))
        )
        self.node_locations = zones

        sa = gcp.serviceaccount.Account(
            f"{name}-nodes",
            account_id=f"{name[:20]}-nodes",
            display_name=f"GKE nodes of {name}",
            project=args["project"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        for role in _NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.rsplit('.', 1)[-1].lower()}",
                project=args["project"],
                role=role,
                member=sa.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.node_service_account = sa.email

        existing = args.get("existing_cluster_name")
        if existing:
            found = gcp.container.get_cluster_output(
                name=existing,
                location=args["region"],
                project=args["project"],
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            self.cluster_name = found.name.apply(lambda n: n or existing)
            self.cluster_id = found.id
            self._endpoint = found.endpoint
            self._ca = found.master_auths.apply(lambda m: m[0].cluster_ca_certificate if m else "")
        else:
            self._create(name, args, tags, zones, sa.email, cidrs)
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster_name, self._endpoint, self._ca).apply(
                lambda v: _kubeconfig(str(v[0]), str(v[1]), str(v[2]))
            )
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_id": self.cluster_id,
                "kubeconfig": self.kubeconfig,
                "node_locations": self.node_locations,
                "node_service_account": self.node_service_account,
            }
        )

    def _create(
        self,
        name: str,
        args: GkeClusterArgs,
        tags: dict[str, str],
        zones: pulumi.Output[list[str]],
        node_sa: pulumi.Output[str],
        cidrs: list[str],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        project = args["project"]
        region = args["region"]
        network = gcp.compute.Network(f"{name}-net", auto_create_subnetworks=False, project=project, opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            network=network.id,
            region=region,
            project=project,
            ip_cidr_range="10.0.0.0/20",
            private_ip_google_access=True,
            secondary_ip_ranges=[
                {"range_name": "pods", "ip_cidr_range": "10.4.0.0/14"},
                {"range_name": "services", "ip_cidr_range": "10.8.0.0/20"},
            ],
            opts=child,
        )
        router = gcp.compute.Router(f"{name}-router", network=network.id, region=region, project=project, opts=child)
        # Private nodes reach Hugging Face and image registries through Cloud NAT only.
        gcp.compute.RouterNat(
            f"{name}-nat",
            router=router.name,
            region=region,
            project=project,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child,
        )
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            project=project,
            location=region,
            node_locations=zones,
            network=network.id,
            subnetwork=subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            remove_default_node_pool=True,
            initial_node_count=1,
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": not cidrs,
                "master_ipv4_cidr_block": "172.16.0.0/28",
            },
            # GKE refuses a private endpoint unless master authorized networks are enabled ("Master authorized
            # networks must be enabled if private endpoint is enabled"); the block with no CIDRs enables them.
            master_authorized_networks_config=(
                {"cidr_blocks": [{"cidr_block": c, "display_name": c} for c in cidrs]}
                if cidrs
                else {"gcp_public_cidrs_access_enabled": False}
            ),
            workload_identity_config={
                "workload_pool": pulumi.Output.from_input(project).apply(lambda p: f"{p}.svc.id.goog")
            },
            release_channel={"channel": "REGULAR"},
            enable_shielded_nodes=True,
            deletion_protection=args.get("deletion_protection", True),
            resource_labels=tags,
            opts=child,
        )
        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        self._endpoint = cluster.endpoint
        self._ca = cluster.master_auth.apply(lambda m: (m.cluster_ca_certificate if m else None) or "")

        # kube-system, KEDA and Prometheus run here so GPU nodes only host model servers.
        gcp.container.NodePool(
            f"{name}-system",
            cluster=cluster.id,
            location=region,
            project=project,
            node_locations=zones,
            initial_node_count=1,
            autoscaling={
                "total_min_node_count": _SYSTEM.system_node_count,
                "total_max_node_count": _SYSTEM.system_node_count,
                "location_policy": "BALANCED",
            },
            management={"auto_repair": True, "auto_upgrade": True},
            node_config={
                "machine_type": _SYSTEM.system_node_instance_type,
                "disk_size_gb": _SYSTEM.system_node_root_volume_gib,
                "disk_type": "pd-balanced",
                "service_account": node_sa,
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "labels": {"servestack.io/pool": "system"},
                "resource_labels": {**tags, PRICING_LABEL: "on_demand"},
            },
            opts=child,
        )


def _kubeconfig(cluster: str, endpoint: str, ca: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca}}
            ],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "current-context": cluster,
            "users": [
                {
                    "name": cluster,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "gke-gcloud-auth-plugin",
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        }
    )


class GpuNodePoolArgs(TypedDict):
    """Inputs of one GKE GPU node pool. Node counts are totals across the pool's zones."""

    cluster: pulumi.Input[str]
    """Cluster id (or name) the pool belongs to."""
    project: pulumi.Input[str]
    """GCP project id."""
    location: pulumi.Input[str]
    """Cluster location (region)."""
    node_locations: pulumi.Input[list[str]]
    """Zones of the pool (only the first is used when a replica spans nodes)."""
    zone_count: int
    """Number of zones in node_locations (turns the desired total into a per-zone initial count)."""
    machine_type: str
    """Machine type, e.g. g2-standard-8 or a3-highgpu-8g."""
    accelerator: str
    """Canonical accelerator id (L4, H100, ...)."""
    accelerators_per_node: int
    """GPUs attached to each node."""
    pricing: str
    """Pricing mode: on_demand, spot, 1y or 3y (committed use discounts are billing, not capacity)."""
    min_size: int
    """Minimum total node count."""
    desired_size: int
    """Desired total node count at creation."""
    max_size: int
    """Maximum total node count."""
    disk_size_gb: int
    """Boot disk size, GB: large enough to cache the model weights."""
    service_account: pulumi.Input[str]
    """Service account email of the nodes."""
    tags: dict[str, str]
    """Cost labels: team, environment, cost-center, managed-by."""
    nodes_per_replica: NotRequired[int]
    """Nodes one model replica spans; above 1 pins the pool to one zone with compact placement."""


class GpuNodePool(pulumi.ComponentResource):
    """A GKE node pool of GPU machines with managed drivers, shielded nodes and workload identity."""

    node_pool_name: pulumi.Output[str]
    """Name of the node pool."""

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:GpuNodePool", name, None, opts)
        comp = "GpuNodePool"
        tags = check_tags(comp, args.get("tags"))
        pricing = check_choice(comp, "pricing", args.get("pricing"), PRICING_MODES)
        lo, want, hi = check_scaling(comp, args.get("min_size"), args.get("desired_size"), args.get("max_size"))
        disk = check_positive(comp, "disk_size_gb", args.get("disk_size_gb"), minimum=20)
        gpus = check_positive(comp, "accelerators_per_node", args.get("accelerators_per_node"))
        zone_count = check_positive(comp, "zone_count", args.get("zone_count"))
        span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica", 1))
        machine_type = args.get("machine_type")
        if not isinstance(machine_type, str) or "-" not in machine_type:
            raise ValueError(f"{comp}: machine_type={machine_type!r} is not valid; allowed: a type like g2-standard-8")
        accelerator_type = gke_accelerator_type(str(args.get("accelerator")), machine_type)

        locations: pulumi.Input[list[str]] = args["node_locations"]
        if span > 1:
            # The nodes of a replica exchange activations every step: one zone, compact placement.
            locations = pulumi.Output.from_input(args["node_locations"]).apply(lambda z: z[:1])
            zone_count = 1
        labels = {
            GPU_LABEL: "true",
            ACCELERATOR_LABEL: args["accelerator"],
            PRICING_LABEL: pricing,
            "servestack.io/gpus-per-node": str(gpus),
        }
        pool = gcp.container.NodePool(
            f"{name}-pool",
            cluster=args["cluster"],
            location=args["location"],
            project=args["project"],
            node_locations=locations,
            # GKE counts initial nodes per zone; the autoscaler bounds below are totals.
            initial_node_count=want // zone_count,
            autoscaling={
                "total_min_node_count": lo,
                "total_max_node_count": hi,
                "location_policy": "ANY" if pricing == "spot" else "BALANCED",
            },
            management={"auto_repair": True, "auto_upgrade": True},
            placement_policy={"type": "COMPACT"} if span > 1 else None,
            node_config={
                "machine_type": machine_type,
                "guest_accelerators": [
                    {
                        "type": accelerator_type,
                        "count": gpus,
                        "gpu_driver_installation_config": {"gpu_driver_version": "LATEST"},
                    }
                ],
                "spot": pricing == "spot",
                "disk_size_gb": disk,
                "disk_type": "pd-balanced",
                "service_account": args["service_account"],
                "oauth_scopes": ["https://www.googleapis.com/auth/cloud-platform"],
                "labels": labels,
                "taints": [{"key": GPU_TAINT_KEY, "value": "present", "effect": "NO_SCHEDULE"}],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "resource_labels": {**tags, PRICING_LABEL: pricing},
            },
            # The cluster autoscaler owns the live node count.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
        )
        self.node_pool_name = pool.name
        self.register_outputs({"node_pool_name": self.node_pool_name})


class ArtifactRegistryArgs(TypedDict):
    """Inputs of an Artifact Registry Docker repository."""

    project: pulumi.Input[str]
    """GCP project id."""
    location: pulumi.Input[str]
    """Region of the repository."""
    tags: dict[str, str]
    """Cost labels: team, environment, cost-center, managed-by."""
    kms_key_name: NotRequired[pulumi.Input[str]]
    """Customer-managed KMS key; Google-managed encryption when absent."""
    untagged_expiry_days: NotRequired[int]
    """Untagged images are deleted after this many days (default 7)."""
    keep_images: NotRequired[int]
    """The newest this many versions are always kept (default 50)."""


class ArtifactRegistry(pulumi.ComponentResource):
    """A Docker repository in Artifact Registry with immutable tags, scanning and cleanup policies."""

    repository_url: pulumi.Output[str]
    """Registry URL to push to."""

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ArtifactRegistry", name, None, opts)
        tags = check_tags("ArtifactRegistry", args.get("tags"))
        expiry = check_positive("ArtifactRegistry", "untagged_expiry_days", args.get("untagged_expiry_days", 7))
        keep = check_positive("ArtifactRegistry", "keep_images", args.get("keep_images", 50))
        repo = gcp.artifactregistry.Repository(
            f"{name}-repo",
            repository_id=name,
            project=args["project"],
            location=args["location"],
            format="DOCKER",
            docker_config={"immutable_tags": True},
            kms_key_name=args.get("kms_key_name"),
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                {
                    "id": "delete-untagged",
                    "action": "DELETE",
                    "condition": {"tag_state": "UNTAGGED", "older_than": f"{expiry * 86400}s"},
                },
                {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": keep}},
            ],
            labels=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = pulumi.Output.all(repo.location, repo.project, repo.repository_id).apply(
            lambda v: f"{v[0]}-docker.pkg.dev/{v[1]}/{v[2]}"
        )
        self.register_outputs({"repository_url": self.repository_url})
