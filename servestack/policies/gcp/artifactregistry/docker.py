"""What the Artifact Registry rules share: only DOCKER repositories hold images."""

from __future__ import annotations

from servestack.costing.resources import Resource, is_unknown
from servestack.policies.base import Outcome, not_applicable

__all__ = ["AR_REPOSITORY", "not_docker"]

AR_REPOSITORY = "gcp:artifactregistry/repository:Repository"


def not_docker(r: Resource) -> Outcome | None:
    """Not applicable when the repository is not (or not yet known to be) a Docker repository."""
    fmt = r.get("format")
    if is_unknown(fmt):
        return not_applicable("format unknown during preview")
    if not isinstance(fmt, str) or fmt.upper() != "DOCKER":
        return not_applicable(f"format {fmt!r} is not DOCKER")
    return None
