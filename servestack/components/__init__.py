"""Reusable Pulumi ComponentResources for GPU model serving on AWS, GCP and any Kubernetes.

Import from the cloud module you need (`from servestack.components.aws import GpuNodeGroup`);
names are also re-exported here lazily so importing this package (or `servestack.components.config`)
does not load a provider SDK.
"""

from importlib import import_module
from typing import Any

__all__ = [
    "EksCluster",
    "GpuNodeGroup",
    "ContainerRegistry",
    "ClusterAutoscaler",
    "GkeCluster",
    "GpuNodePool",
    "ArtifactRegistry",
    "ModelServer",
    "ModelLoadBalancer",
    "ModelRouter",
    "ServingAutoscaler",
    "ServingAddons",
    "NvidiaDevicePlugin",
    "ImagePrePuller",
    "ModelDeployment",
    "all_components",
]

_HOMES = {
    "EksCluster": "aws",
    "GpuNodeGroup": "aws",
    "ContainerRegistry": "aws",
    "ClusterAutoscaler": "aws",
    "GkeCluster": "gcp",
    "GpuNodePool": "gcp",
    "ArtifactRegistry": "gcp",
    "ModelServer": "kubernetes",
    "ModelLoadBalancer": "kubernetes",
    "ModelRouter": "kubernetes",
    "ServingAutoscaler": "kubernetes",
    "ServingAddons": "kubernetes",
    "NvidiaDevicePlugin": "kubernetes",
    "ImagePrePuller": "kubernetes",
    "ModelDeployment": "deployment",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'servestack.components' has no attribute {name!r}")
    return getattr(import_module(f"servestack.components.{home}"), name)


def all_components() -> list[type[Any]]:
    """Every component class, in a stable order (what the component provider host serves)."""
    return [getattr(import_module(f"servestack.components.{home}"), name) for name, home in _HOMES.items()]
