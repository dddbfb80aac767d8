"""The deployment contract: the one description of a deployment's shape, and every invariant between its fields.

Pulumi-free. The selector emits it (`derive.deployment_for`), `plan --write` records it, the Pulumi program and
components read it (`servestack.components.config`), and the cost engine and packs judge what it produced.
`shape` holds the rules relating replicas, nodes and zones and the values derived from a node shape;
`checkpoints` names what a deployment downloads. See docs/architecture.md.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Imported on first use: `plan` reads `contract.shape` and `contract.derive` for every answer but builds the
# pydantic models only when it writes or prints the contract (their class construction costs start-up time).
_HOME = {"Checkpoint": "checkpoints", "resolve_checkpoint": "checkpoints"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{_HOME.get(name, 'model')}"), name)
    globals()[name] = value
    return value
