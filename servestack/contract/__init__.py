"""The deployment contract: the one description of a deployment's shape, and every invariant between its fields.

Pulumi-free. The selector emits it (`derive.deployment_for`), `plan --write` records it, the Pulumi program and
components read it (`servestack.components.config`), and the cost engine and packs judge what it produced.
`shape` holds the rules relating replicas, nodes and zones and the values derived from a node shape;
`checkpoints` names what a deployment downloads. See docs/architecture.md.
"""

from servestack.contract.checkpoints import Checkpoint, resolve_checkpoint
from servestack.contract.model import (
    DEFAULT_KUBERNETES_VERSION,
    ApiAccess,
    Commitment,
    Deployment,
    Serving,
)

__all__ = [
    "ApiAccess",
    "Checkpoint",
    "Commitment",
    "DEFAULT_KUBERNETES_VERSION",
    "Deployment",
    "Serving",
    "resolve_checkpoint",
]
