"""`ImagePrePuller`: a DaemonSet that pulls the serving image onto every GPU node as soon as the node joins.

A serving pod cannot be scheduled on a new GPU node until the node advertises `nvidia.com/gpu` (driver install,
device plugin registration); only then does its kubelet start pulling the multi-GiB vLLM image. This DaemonSet's
pod asks for no GPU, so it lands as soon as the node is Ready and its init container pulls the image while the
GPUs are still being brought up. The init container runs the image's own `/bin/true` and exits; a pause
container then keeps the pod (and with it the image, which the kubelet's image garbage collection never removes
while a pod uses it) on the node.

Annotations are evaluated at import (no `from __future__ import annotations`): the component provider host
reads them.
"""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.components._common import ACCELERATOR_LABEL, GPU_TAINT_KEY
from servestack.components.config import DEFAULT_IMAGE, check_image
from servestack.components.kubernetes._shared import (
    PART_OF,
    child_opts,
    restricted_container_security,
    restricted_pod_security,
)

__all__ = ["ImagePrePuller", "ImagePrePullerArgs", "PAUSE_IMAGE", "PREPULL_COMMAND"]

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
"""The pause image (~300 KiB), pinned: it only holds the pod open so the pulled image stays in use."""
PREPULL_COMMAND = ["/bin/true"]
"""What the init container runs in the serving image: nothing, so the pull is the whole cost."""
_TINY = {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}}


class ImagePrePullerArgs(TypedDict):
    """Inputs of the DaemonSet that keeps the serving image cached on the GPU nodes."""

    namespace: pulumi.Input[str]
    """Namespace of the DaemonSet (the serving namespace, so it pulls with the same registry access)."""
    image: str
    """The serving image, exactly as the model server names it (version tag or digest)."""
    accelerator: str
    """Canonical accelerator id; the DaemonSet selects the GPU nodes labelled with it, as the server does."""
    pause_image: NotRequired[str]
    """Image of the container that holds the pod open (default registry.k8s.io/pause:3.10)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ImagePrePuller(pulumi.ComponentResource):
    """Pulls the serving image onto each GPU node before the first serving pod lands there."""

    daemon_set_name: pulumi.Output[str]
    """Name of the DaemonSet."""

    def __init__(self, name: str, args: ImagePrePullerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        comp = "ImagePrePuller"
        try:
            image = check_image(args.get("image", DEFAULT_IMAGE))
            pause = check_image(args.get("pause_image", PAUSE_IMAGE))
        except ValueError as exc:
            raise ValueError(f"{comp}: {exc}") from None
        accelerator = args.get("accelerator")
        if not isinstance(accelerator, str) or not accelerator:
            raise ValueError(f"{comp}: accelerator={accelerator!r} is not valid; allowed: a canonical id such as L40S")
        super().__init__("servestack:index:ImagePrePuller", name, None, opts)
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "image-prepull", **PART_OF}
        ds_spec: Any = {
            "selector": {"match_labels": labels},
            # A new image tag rolls through the nodes at once: each pod is only a pull, never capacity.
            "update_strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": "100%"}},
            "template": {"metadata": {"labels": labels}, "spec": prepull_pod_spec(image, pause, accelerator)},
        }
        ds = k8s.apps.v1.DaemonSet(
            f"{name}-ds", metadata={"namespace": args["namespace"], "labels": labels}, spec=ds_spec, opts=child
        )
        self.daemon_set_name = ds.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"daemon_set_name": self.daemon_set_name})


def prepull_pod_spec(image: str, pause_image: str, accelerator: str) -> dict[str, Any]:
    """The pod: on the GPU nodes of `accelerator`, tolerating their taint, restricted, requesting no GPU."""
    security = {**restricted_container_security(), "read_only_root_filesystem": True}
    return {
        # Scheduled on the nodes the serving pods select, and tolerating the taint that keeps other work off them.
        "node_selector": {ACCELERATOR_LABEL: accelerator},
        "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
        "security_context": restricted_pod_security(),
        "automount_service_account_token": False,
        "termination_grace_period_seconds": 1,
        "init_containers": [
            {
                "name": "prepull",
                "image": image,
                "command": PREPULL_COMMAND,
                "resources": _TINY,
                "security_context": security,
            }
        ],
        "containers": [{"name": "pause", "image": pause_image, "resources": _TINY, "security_context": security}],
    }
