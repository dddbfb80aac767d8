"""`servestack preflight`: read one stack's `servestack:deployment` and ask its cloud whether it can launch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from servestack.catalog.gke import GKE_ACCELERATOR_TYPES
from servestack.catalog.gke import gke_accelerator_type as _gke_accelerator_type
from servestack.errors import ConfigError
from servestack.preflight.aws import AwsLookup, ClientFactory, aws_checks
from servestack.preflight.checks import Report
from servestack.preflight.gcp import GcpGet, GcpLookup, gcp_checks, google_auth_get

__all__ = ["GKE_ACCELERATOR_TYPES", "gke_accelerator_type", "load_deployment", "preflight_stack"]


def gke_accelerator_type(accelerator: str, machine_type: str) -> str:
    """The GKE accelerator type preflight asks about; an id GKE does not offer keeps its lower-case name, so
    the zone check reports it as not offered instead of failing."""
    try:
        return _gke_accelerator_type(accelerator, machine_type)
    except ValueError:
        return accelerator.lower()


def load_deployment(project_dir: Path, stack: str) -> tuple[str, Any, str | None]:
    """(stack name, the validated Deployment, gcp:project) of stacks/Pulumi.<stack>.yaml; ConfigError (exit 2)
    naming the key when the file or the key is missing or invalid."""
    from servestack.contract import Deployment
    from servestack.preview.project import load_project, load_stack_config, resolve_stack

    project = load_project(project_dir)
    name = resolve_stack(project, stack)
    config = load_stack_config(project, name)
    raw = config.raw.get("servestack:deployment")
    if raw is None:
        raise ConfigError(
            f"stack {name}: servestack:deployment is missing; write it with `servestack plan SPEC --env {name} --write`"
        )
    try:
        deployment = Deployment.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        key = "servestack:deployment" + (f".{where}" if where else "")
        raise ConfigError(f"stack {name}: {key}: {first.get('msg', 'invalid')} (got {first.get('input')!r})") from None
    gcp_project = config.raw.get("gcp:project")
    return name, deployment, str(gcp_project) if gcp_project else None


def preflight_stack(
    project_dir: Path,
    stack: str,
    *,
    aws_client: ClientFactory | None = None,
    gcp_get: Callable[[], GcpGet] = google_auth_get,
) -> Report:
    """Every check of the stack's deployment against its cloud (live APIs, the caller's credentials)."""
    name, deployment, gcp_project = load_deployment(project_dir, stack)
    if deployment.cloud == "aws":
        lookup = AwsLookup(aws_client) if aws_client is not None else AwsLookup()
        return Report(name, tuple(aws_checks(deployment, lookup)))
    if not gcp_project:
        raise ConfigError(f"stack {name}: gcp:project is missing; set it with `pulumi config set gcp:project <id>`")
    accelerator_type = gke_accelerator_type(deployment.accelerator, deployment.instance_type)
    return Report(name, tuple(gcp_checks(deployment, accelerator_type, GcpLookup(gcp_project, gcp_get()))))
