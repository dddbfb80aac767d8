"""One adapter per cloud behind one Protocol: what ModelDeployment asks of AWS or GCP, and what it gets back.

An adapter creates the cluster, the GPU capacity (an always-on base group and a burst group), the registry and
the cloud's own cluster add-ons, and hands the Kubernetes half a `CloudCluster`. ModelDeployment picks the
adapter by name and never branches on the cloud itself.
"""

from dataclasses import dataclass, field
from importlib import import_module
from typing import Protocol

import pulumi

__all__ = ["CloudAdapter", "CloudCluster", "CloudSpec", "GpuGroupSpec", "CLOUDS", "cloud_adapter"]

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
class CloudSpec:
    """Everything an adapter needs, already validated by ModelDeployment (names as in deployment-args)."""

    name: str
    region: str
    zone_count: int
    tags: dict[str, str]
    environment: str
    instance_type: str
    accelerator: str
    accelerators_per_node: int
    nodes_per_replica: int
    groups: list[GpuGroupSpec]
    root_volume_gib: int
    api_access: str
    image: str
    namespace: str
    """Namespace of the serving workload (ModelDeployment creates it)."""
    server_service_account: str
    """Kubernetes service account the serving pods run as ("<name>-server")."""
    zone_names: list[str] | None = None
    api_cidrs: list[str] = field(default_factory=list)
    root_volume_throughput_mibps: int | None = None
    root_volume_iops: int | None = None
    efa_interfaces: int = 0
    spot_instance_types: list[str] = field(default_factory=list)
    """AWS: the instance types spot node groups may launch (instance_type first); empty: instance_type only."""
    node_launch_s: int | None = None
    """Seconds to launch and join a GPU node (node groups wait twice that)."""
    kubernetes_version: str | None = None
    cluster_admins: list[str] = field(default_factory=list)
    hf_token_secret: str | None = None
    existing_cluster_name: str | None = None
    gcp_project: str | None = None
    docker_hub_credential_arn: str | None = None


@dataclass
class CloudCluster:
    """What the Kubernetes half needs from the cloud half (see docs/deploy.md for the order of creation)."""

    cloud: str
    kubeconfig: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    registry_url: pulumi.Output[str]
    server_image: str
    """Image reference the model server uses: through the stack's registry when it mirrors Docker Hub."""
    ready: list[pulumi.Resource]
    """Kubernetes and Helm resources depend on these (the system node group / pool)."""
    server_service_account: str
    server_service_account_annotations: pulumi.Output[dict[str, str]]
    hf_token_secret_ref: str | None
    """AWS: the Secrets Manager secret name; GCP: projects/<p>/secrets/<id>; None without a token secret."""
    needs_nvidia_device_plugin: bool
    efa_interfaces: int
    identity_ready: list[pulumi.Resource] = field(default_factory=list)
    """The server's cloud identity (Pod Identity association / Workload Identity binding); the server waits."""


class CloudAdapter(Protocol):
    """The per-cloud half of a model deployment."""

    cloud: str

    def preflight(self, spec: CloudSpec) -> None:
        """Checks that need the cloud but no resource (GPU quotas); raise before anything is registered."""
        ...

    def provision(self, parent: pulumi.Resource, spec: CloudSpec) -> CloudCluster:
        """Cluster, GPU capacity, registry and the serving pods' identity, as children of `parent`."""
        ...

    def install_add_ons(
        self, parent: pulumi.Resource, spec: CloudSpec, cluster: CloudCluster, kube: pulumi.ResourceOptions
    ) -> None:
        """Cloud-specific in-cluster add-ons (AWS: the Cluster Autoscaler for a burst group); `kube` carries
        the Kubernetes provider and the dependency on `cluster.ready`."""
        ...


def cloud_adapter(cloud: str) -> CloudAdapter:
    """A new adapter of `cloud` (aws or gcp), one per deployment; only that cloud's provider SDK is imported."""
    if cloud not in CLOUDS:
        raise ValueError(f"cloud={cloud!r} is not valid; allowed: {', '.join(CLOUDS)}")
    adapter: CloudAdapter = import_module(f"servestack.components.{cloud}.adapter").Adapter()
    return adapter
