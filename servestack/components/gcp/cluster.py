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
    check_api_access,
    check_tags,
    check_zones,
)
from servestack.components.gcp.network import CONTROL_PLANE_CIDR, _first_sorted, create_network
from servestack.components.gcp.services import enable_apis

_NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# The system node group is sized from the same platform table the selector and costing price, so a
# plan's ceiling and the costed ceiling of the stack it writes agree.
_SYSTEM = platform_prices("gcp")
_NODE_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
CLUSTER_ADMIN_ROLE = "roles/container.admin"


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
    api_access: str
    """Control-plane endpoint: "private" (private endpoint only) or "cidrs" (public endpoint limited to
    api_cidrs by master authorized networks)."""
    api_cidrs: NotRequired[list[str]]
    """CIDRs allowed to the public endpoint when api_access is "cidrs" (never 0.0.0.0/0)."""
    zone_names: NotRequired[list[str]]
    """The node zones (zone_count names, where the machine type is offered); by default the region's zones
    that are UP, in name order."""
    existing_cluster_name: NotRequired[str]
    """Adopt this existing GKE cluster (in `region`) instead of creating one."""
    deletion_protection: NotRequired[bool]
    """Refuse to delete the cluster (default true)."""
    kubernetes_version: NotRequired[str]
    """Minimum control-plane version, e.g. 1.33 (the REGULAR channel upgrades from there)."""
    cluster_admins: NotRequired[list[str]]
    """IAM members (user:, group:, serviceAccount:) given roles/container.admin on the project."""
    enable_apis: NotRequired[bool]
    """Enable the Google APIs the stack uses (default true); false when the project's owner manages them."""


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
    _system_pool: pulumi.Resource | None
    _apis: list[pulumi.Resource]

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:GkeCluster", name, None, opts)
        tags = check_tags("GkeCluster", args.get("tags"))
        zone_count, zone_names = check_zones("GkeCluster", args.get("zone_count"), 4, args.get("zone_names"))
        access, cidrs = check_api_access("GkeCluster", args.get("api_access"), args.get("api_cidrs"))
        admins = list(args.get("cluster_admins") or [])
        bad = [a for a in admins if ":" not in a]
        if bad:
            raise ValueError(
                f"GkeCluster: cluster_admins entry {bad[0]!r} is not valid; allowed: IAM members such as "
                "user:ops@example.com, group:..., serviceAccount:..."
            )
        project = args["project"]
        self._system_pool = None
        self._apis = list(enable_apis(self, name, project)) if args.get("enable_apis", True) else []
        after_apis = pulumi.ResourceOptions(parent=self, depends_on=self._apis)
        zones: pulumi.Output[list[str]] = (
            pulumi.Output.from_input(zone_names)
            if zone_names is not None
            else gcp.compute.get_zones_output(
                project=project,
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
            project=project,
            opts=after_apis,
        )
        for role in _NODE_ROLES:
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.rsplit('.', 1)[-1].lower()}",
                project=project,
                role=role,
                member=sa.email.apply(lambda e: f"serviceAccount:{e}"),
                opts=after_apis,
            )
        for i, member in enumerate(admins):
            gcp.projects.IAMMember(
                f"{name}-admin-{i}", project=project, role=CLUSTER_ADMIN_ROLE, member=member, opts=after_apis
            )
        self.node_service_account = sa.email

        existing = args.get("existing_cluster_name")
        if existing:
            found = gcp.container.get_cluster_output(
                name=existing,
                location=args["region"],
                project=project,
                opts=pulumi.InvokeOutputOptions(parent=self),
            )
            self.cluster_name = found.name.apply(lambda n: n or existing)
            self.cluster_id = found.id
            self._endpoint = found.endpoint
            self._ca = found.master_auths.apply(lambda m: m[0].cluster_ca_certificate if m else "")
        else:
            self._create(name, args, tags, zones, sa.email, access, cidrs)
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

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What Kubernetes and Helm resources on this cluster must wait for: the system node pool."""
        return [self._system_pool] if self._system_pool is not None else []

    @property
    def apis(self) -> list[pulumi.Resource]:
        """The enabled Google APIs; other resources of the stack (registries, secrets IAM) depend on them."""
        return list(self._apis)

    def _create(
        self,
        name: str,
        args: GkeClusterArgs,
        tags: dict[str, str],
        zones: pulumi.Output[list[str]],
        node_sa: pulumi.Output[str],
        access: str,
        cidrs: list[str],
    ) -> None:
        project = args["project"]
        region = args["region"]
        net = create_network(self, name, project=project, region=region, depends_on=self._apis)
        private = access == "private"
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            project=project,
            location=region,
            node_locations=zones,
            network=net.network.id,
            subnetwork=net.subnet.id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={"cluster_secondary_range_name": "pods", "services_secondary_range_name": "services"},
            remove_default_node_pool=True,
            initial_node_count=1,
            # The bootstrap pool GKE creates (and this program removes) runs as the stack's node account too,
            # never the project's default compute account (Editor on the whole project).
            node_config={
                "service_account": node_sa,
                "oauth_scopes": [_NODE_SCOPE],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
            },
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": private,
                "master_ipv4_cidr_block": CONTROL_PLANE_CIDR,
            },
            # GKE refuses a private endpoint unless master authorized networks are enabled ("Master authorized
            # networks must be enabled if private endpoint is enabled"); the block with no CIDRs enables them.
            master_authorized_networks_config=(
                {"cidr_blocks": [{"cidr_block": c, "display_name": c} for c in cidrs]}
                if not private
                else {"gcp_public_cidrs_access_enabled": False}
            ),
            workload_identity_config={
                "workload_pool": pulumi.Output.from_input(project).apply(lambda p: f"{p}.svc.id.goog")
            },
            enable_legacy_abac=False,
            min_master_version=args.get("kubernetes_version"),
            release_channel={"channel": "REGULAR"},
            enable_shielded_nodes=True,
            deletion_protection=args.get("deletion_protection", True),
            resource_labels=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._apis),
        )
        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        self._endpoint = cluster.endpoint
        self._ca = cluster.master_auth.apply(lambda m: (m.cluster_ca_certificate if m else None) or "")

        # kube-system, KEDA and Prometheus run here so GPU nodes only host model servers.
        self._system_pool = gcp.container.NodePool(
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
                "oauth_scopes": [_NODE_SCOPE],
                "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
                "workload_metadata_config": {"mode": "GKE_METADATA"},
                "labels": {"servestack.io/pool": "system"},
                "resource_labels": {**tags, PRICING_LABEL: "on_demand"},
            },
            opts=pulumi.ResourceOptions(parent=self),
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
