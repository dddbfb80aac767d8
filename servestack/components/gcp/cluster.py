"""GkeCluster: a regional GKE cluster with private nodes (or an adopted one) and a system node pool.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from servestack.catalog.platform import platform_prices
from servestack.components._common import (
    PRICING_LABEL,
    check_cluster_network,
    check_tags,
)
from servestack.components.gcp.network import _first_sorted

_NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# The system node group is sized from the same platform table the selector and costing price, so a
# plan's ceiling and the costed ceiling of the stack it writes agree.
_SYSTEM = platform_prices("gcp")


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
