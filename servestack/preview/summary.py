"""What a person wants to see of each resource in a preview tree: the few inputs that decide cost and risk."""

from __future__ import annotations

import json
from typing import Any

from servestack.preview.model import PreviewResource

__all__ = ["key_inputs", "children_by_parent"]

# Dotted input paths worth a glance, in display order; any resource that has one shows it.
_KEY_PATHS: tuple[str, ...] = (
    "instanceTypes",
    "capacityType",
    "scalingConfig",
    "amiType",
    "nodeConfig.machineType",
    "nodeConfig.guestAccelerators",
    "nodeConfig.spot",
    "nodeConfig.diskSizeGb",
    "autoscaling",
    "initialNodeCount",
    "nodeLocations",
    "metadataOptions.httpTokens",
    "imageTagMutability",
    "format",
    "cidrBlock",
    "ipCidrRange",
    "availabilityZone",
    "location",
    "chart",
    "spec.type",
    "spec.replicas",
    "spec.minReplicaCount",
    "spec.maxReplicaCount",
    "spec.leaderWorkerTemplate.size",
)


def _get(inputs: dict[str, Any], path: str) -> Any:
    current: Any = inputs
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _images(value: Any, found: list[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "image" and isinstance(v, str):
                found.append(v)
            else:
                _images(v, found)
    elif isinstance(value, list):
        for item in value:
            _images(item, found)


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def key_inputs(resource: PreviewResource) -> list[tuple[str, str]]:
    """(path, short text) of the inputs that matter most for `resource`, present ones only."""
    out = [(path, _short(v)) for path in _KEY_PATHS if (v := _get(resource.inputs, path)) is not None]
    if resource.type.startswith("kubernetes:") and "spec" in resource.inputs:
        images: list[str] = []
        _images(resource.inputs["spec"], images)
        out.extend(("image", img) for img in dict.fromkeys(images))
    return out


def children_by_parent(resources: list[PreviewResource]) -> dict[str | None, list[PreviewResource]]:
    """Resources grouped by parent URN; parents that are not resources (the stack) map to None."""
    known = {r.urn for r in resources}
    grouped: dict[str | None, list[PreviewResource]] = {}
    for r in resources:
        grouped.setdefault(r.parent if r.parent in known else None, []).append(r)
    return grouped
