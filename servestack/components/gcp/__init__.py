"""GCP components: a private GKE cluster, GPU node pools and an Artifact Registry repository.

One module per concept (network, cluster, node_pool, registry, services); the public names are
re-exported here so `from servestack.components.gcp import GpuNodePool` keeps working.
"""

from servestack.catalog.gke import GKE_ACCELERATOR_TYPES
from servestack.components.gcp.cluster import GkeCluster, GkeClusterArgs
from servestack.components.gcp.node_pool import (
    GpuNodePool,
    GpuNodePoolArgs,
    gke_accelerator_type,
)
from servestack.components.gcp.registry import ArtifactRegistry, ArtifactRegistryArgs

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
