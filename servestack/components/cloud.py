"""One adapter per cloud behind one Protocol: what a deployment asks of AWS or GCP, and what it gets back.

An adapter creates the cluster, the registry and the cloud's own cluster add-ons once (`provision_cluster`,
handing the Kubernetes half a `CloudCluster`), and each accelerator pool's GPU capacity (an always-on base group
and a burst group, with their own instance type) plus the pool's serving identity (`provision_pool`, giving a
`PoolCapacity`). ModelDeployment (one pool) and ServingCluster + ModelPool (a fleet) pick the adapter by name
and never branch on the cloud themselves.
"""

from dataclasses import dataclass, field
from importlib import import_module
from typing import Protocol

import pulumi

__all__ = [
    "CloudAdapter", "CloudCluster", "CloudSpec", "GpuGroupSpec", "PoolCapacity", "PoolSpec", "CLOUDS", "cloud_adapter",
]

CLOUDS = ("aws", "gcp")


@dataclass(frozen=True)
class GpuGroupSpec:
    """One GPU node group / pool: `base` (fixed at the floor) or `burst` (scales from zero)."""

    role: str
    pricing: str
    min_size: int
    desired_size: int
    max_size: int


@dataclass(frozen=True)
class PoolSpec:
    """One accelerator pool: its GPU groups, their shape, and the server identity it runs (already validated)."""

    name: str
    """Prefix of the pool's resource names (ModelDeployment: its own name; a fleet: the pool name)."""
    tags: dict[str, str]
    instance_type: str
    accelerator: str
    accelerators_per_node: int
    nodes_per_replica: int
    groups: list[GpuGroupSpec]
    root_volume_gib: int
    namespace: str
    """Namespace of the pool's model server."""
    server_service_account: str
    """Kubernetes service account the serving pods run as ("<name>-server")."""
    pool_label: str | None = None
    """Value of the `servestack.io/pool` node label (fleets: the pool name, so each server selects its own
    nodes); None keeps a one-pool deployment's nodes labelled as before."""
    root_volume_throughput_mibps: int | None = None
    root_volume_iops: int | None = None
    efa_interfaces: int = 0
    spot_instance_types: list[str] = field(default_factory=list)
    """AWS: the instance types spot node groups may launch (instance_type first); empty: instance_type only."""
    node_launch_s: int | None = None
    """Seconds to launch and join a GPU node (node groups wait twice that)."""

    @property
    def max_nodes(self) -> int:
        return sum(g.max_size for g in self.groups)


@dataclass(frozen=True)
class CloudSpec:
    """Everything an adapter needs for the cluster and its pools, already validated (names as in deployment-args)."""

    name: str
    """Prefix of the cluster's resource names."""
    region: str
    zone_count: int
    tags: dict[str, str]
    """Tags of what the pools share (network, cluster, system nodes, registry)."""
    environment: str
    pools: list[PoolSpec]
    api_access: str
    image: str
    zone_names: list[str] | None = None
    api_cidrs: list[str] = field(default_factory=list)
    kubernetes_version: str | None = None
    cluster_admins: list[str] = field(default_factory=list)
    hf_token_secret: str | None = None
    existing_cluster_name: str | None = None
    gcp_project: str | None = None
    docker_hub_credential_arn: str | None = None

    @property
    def bursts(self) -> bool:
        """True when some GPU group may grow above its minimum (something must resize it)."""
        return any(g.max_size > g.min_size for pool in self.pools for g in pool.groups)


@dataclass
class CloudCluster:
    """What the Kubernetes half needs from the cloud half (see docs/deploy.md for the order of creation)."""

    cloud: str
    kubeconfig: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    registry_url: pulumi.Output[str]
    server_image: str
    """Image reference the model servers use: through the stack's registry when it mirrors Docker Hub."""
    ready: list[pulumi.Resource]
    """Kubernetes and Helm resources depend on these (the system node group / pool)."""
    hf_token_secret_ref: str | None
    """AWS: the Secrets Manager secret name; GCP: projects/<p>/secrets/<id>; None without a token secret."""
    needs_nvidia_device_plugin: bool
    handle: object = None
    """The adapter's own cluster object (EksCluster, GkeCluster), which `provision_pool` builds on."""


@dataclass
class PoolCapacity:
    """What one pool's model server needs from the cloud half."""

    server_service_account: str
    server_service_account_annotations: pulumi.Output[dict[str, str]]
    efa_interfaces: int
    groups: list[pulumi.Resource] = field(default_factory=list)
    """The pool's GPU node groups / pools."""
    identity_ready: list[pulumi.Resource] = field(default_factory=list)
    """The server's cloud identity (Pod Identity association / Workload Identity binding); the server waits."""


class CloudAdapter(Protocol):
    """The per-cloud half of a deployment: one cluster, any number of accelerator pools."""

    cloud: str

    def preflight(self, spec: CloudSpec) -> None:
        """Checks that need the cloud but no resource (GPU quotas, summed over the pools); raise before anything
        is registered."""
        ...

    def provision_cluster(self, parent: pulumi.Resource, spec: CloudSpec) -> CloudCluster:
        """Cluster, system nodes and registry, as children of `parent`."""
        ...

    def provision_pool(
        self, parent: pulumi.Resource, spec: CloudSpec, pool: PoolSpec, cluster: CloudCluster
    ) -> PoolCapacity:
        """One pool's GPU capacity (its own instance type) and its serving pods' identity, children of `parent`."""
        ...

    def efa_interfaces(self, pool: PoolSpec) -> int:
        """EFA interfaces each node of `pool` gets (0 where the cloud or the pool uses none)."""
        ...

    def install_add_ons(
        self, parent: pulumi.Resource, spec: CloudSpec, cluster: CloudCluster, kube: pulumi.ResourceOptions
    ) -> None:
        """Cloud-specific in-cluster add-ons (AWS: the Cluster Autoscaler when a group bursts); `kube` carries
        the Kubernetes provider and the dependency on `cluster.ready`."""
        ...


def cloud_adapter(cloud: str) -> CloudAdapter:
    """A new adapter of `cloud` (aws or gcp), one per deployment; only that cloud's provider SDK is imported."""
    if cloud not in CLOUDS:
        raise ValueError(f"cloud={cloud!r} is not valid; allowed: {', '.join(CLOUDS)}")
    adapter: CloudAdapter = import_module(f"servestack.components.{cloud}.adapter").Adapter()
    return adapter
