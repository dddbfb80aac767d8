"""AWS components: an EKS cluster in a private VPC, GPU managed node groups, an ECR registry and the
Kubernetes Cluster Autoscaler that grows EKS managed node groups (GKE autoscales node pools itself).

One module per concept (network, cluster, node_group, registry, autoscaler); the public names are
re-exported here so `from servestack.components.aws import GpuNodeGroup` keeps working.
"""

from servestack.components.aws._shared import (
    CLUSTER_AUTOSCALER_TAG_PREFIX,
    GPU_AMI_TYPES,
    capacity_type_for,
)
from servestack.components.aws.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs, cluster_autoscaler_policy
from servestack.components.aws.cluster import EksCluster, EksClusterArgs
from servestack.components.aws.node_group import GpuNodeGroup, GpuNodeGroupArgs, scale_from_zero_tags
from servestack.components.aws.registry import ContainerRegistry, ContainerRegistryArgs

__all__ = [
    "EksCluster",
    "EksClusterArgs",
    "GpuNodeGroup",
    "GpuNodeGroupArgs",
    "ContainerRegistry",
    "ContainerRegistryArgs",
    "ClusterAutoscaler",
    "ClusterAutoscalerArgs",
    "CLUSTER_AUTOSCALER_TAG_PREFIX",
    "GPU_AMI_TYPES",
    "capacity_type_for",
    "cluster_autoscaler_policy",
    "scale_from_zero_tags",
]
