"""The VPC of a GKE cluster: one subnetwork with pod/service ranges, Cloud NAT for private nodes, and the
firewall rule that lets the control plane reach the webhooks and aggregated APIs that run on the nodes.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from collections.abc import Callable, Sequence

import pulumi
import pulumi_gcp as gcp

CONTROL_PLANE_CIDR = "172.16.0.0/28"
"""The GKE control plane's private range (master_ipv4_cidr_block)."""
CONTROL_PLANE_TO_NODE_PORTS = ("6443", "8443", "9443")
"""Beyond the 443/10250 GKE opens itself: 6443 KEDA's metrics API server, 9443 the KEDA admission webhook and
the LeaderWorkerSet webhook, 8443 webhooks of charts that use it. Without them a private cluster's HPA never
gets external metrics and LWS objects are rejected."""


class GkeNetwork:
    def __init__(self, network: gcp.compute.Network, subnet: gcp.compute.Subnetwork) -> None:
        self.network = network
        self.subnet = subnet


def create_network(
    parent: pulumi.Resource,
    name: str,
    *,
    project: pulumi.Input[str],
    region: str,
    depends_on: Sequence[pulumi.Resource],
) -> GkeNetwork:
    child = pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on))
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
    gcp.compute.Firewall(
        f"{name}-control-plane-webhooks",
        network=network.id,
        project=project,
        direction="INGRESS",
        source_ranges=[CONTROL_PLANE_CIDR],
        allows=[{"protocol": "tcp", "ports": list(CONTROL_PLANE_TO_NODE_PORTS)}],
        description="GKE control plane to KEDA metrics API and admission webhooks (KEDA, LeaderWorkerSet)",
        opts=child,
    )
    return GkeNetwork(network, subnet)


def _first_sorted(count: int) -> Callable[[list[str] | None], list[str]]:
    def pick(names: list[str] | None) -> list[str]:
        if not names:
            raise ValueError("GkeCluster: the region reported no zones that are UP; pass `zone_names` explicitly")
        return sorted(names)[:count]

    return pick
