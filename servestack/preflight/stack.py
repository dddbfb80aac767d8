"""`servestack preflight`: read one stack's pools (`servestack:deployment`, or every server of `servestack:fleet`)
and ask its cloud whether they can launch together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from servestack.catalog.gke import GKE_ACCELERATOR_TYPES
from servestack.catalog.gke import gke_accelerator_type as _gke_accelerator_type
from servestack.contract.fleet import Fleet, FleetRuleError
from servestack.errors import ConfigError
from servestack.preflight.aws import AwsLookup, ClientFactory, aws_fleet_checks
from servestack.preflight.checks import Report
from servestack.preflight.gcp import GcpGet, GcpLookup, gcp_fleet_checks, google_auth_get

__all__ = ["GKE_ACCELERATOR_TYPES", "gke_accelerator_type", "load_deployment", "load_fleet", "preflight_stack"]


def gke_accelerator_type(accelerator: str, machine_type: str) -> str:
    """The GKE accelerator type preflight asks about; an id GKE does not offer keeps its lower-case name, so
    the zone check reports it as not offered instead of failing."""
    try:
        return _gke_accelerator_type(accelerator, machine_type)
    except ValueError:
        return accelerator.lower()


def load_deployment(project_dir: Path, stack: str) -> tuple[str, Any, str | None]:
    """(stack name, the validated Deployment, gcp:project) of a one-workload stack; see load_fleet."""
    name, fleet, gcp_project = load_fleet(project_dir, stack)
    if not fleet.is_single:
        raise ConfigError(f"stack {name}: has {len(fleet.servers)} servers (servestack:fleet); read it with load_fleet")
    return name, fleet.servers[0].deployment, gcp_project


def load_fleet(project_dir: Path, stack: str) -> tuple[str, Fleet, str | None]:
    """(stack name, the stack's servers as a Fleet, gcp:project) of stacks/Pulumi.<stack>.yaml, whichever keys
    wrote it (`servestack:deployment`, or `servestack:workloads` + `servestack:fleet`); ConfigError (exit 2)
    naming the key when the file or the key is missing or invalid."""
    from servestack.contract import Deployment
    from servestack.preview.project import load_project, load_stack_config, resolve_stack

    project = load_project(project_dir)
    name = resolve_stack(project, stack)
    config = load_stack_config(project, name)
    gcp_project = config.raw.get("gcp:project")
    gcp = str(gcp_project) if gcp_project else None
    if "servestack:fleet" in config.raw:
        return name, _fleet(name, config.raw), gcp
    raw = config.raw.get("servestack:deployment")
    if raw is None:
        raise ConfigError(
            f"stack {name}: servestack:deployment is missing (and there is no servestack:fleet); write it with "
            f"`servestack plan SPEC --env {name} --write`"
        )
    try:
        deployment = Deployment.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(name, "servestack:deployment", exc) from None
    workload = config.raw.get("servestack:workload")
    workload_name = workload.get("name") if isinstance(workload, dict) else None
    return name, Fleet.single(str(workload_name or name), deployment), gcp


def _fleet(name: str, raw: dict[str, Any]) -> Fleet:
    workloads = raw.get("servestack:workloads")
    if not isinstance(workloads, list) or not workloads:
        raise ConfigError(f"stack {name}: servestack:workloads is missing; it goes with servestack:fleet (a list of "
                          "workload blocks, each with its name)")
    names = [str(w.get("name")) for w in workloads if isinstance(w, dict)]
    try:
        return Fleet.from_stack_config(raw["servestack:fleet"], names)
    except FleetRuleError as exc:
        raise ConfigError(f"stack {name}: servestack:fleet.{exc.path}: {exc.message}") from None
    except ValidationError as exc:
        inner = (exc.errors()[0].get("ctx") or {}).get("error")
        if isinstance(inner, FleetRuleError):
            raise ConfigError(f"stack {name}: servestack:fleet.{inner.path}: {inner.message}") from None
        raise _invalid(name, "servestack:fleet", exc) from None


def _invalid(name: str, key: str, exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.get("loc", ()))
    return ConfigError(f"stack {name}: {key}{where}: {first.get('msg', 'invalid')} (got {first.get('input')!r})")


def preflight_stack(
    project_dir: Path,
    stack: str,
    *,
    aws_client: ClientFactory | None = None,
    gcp_get: Callable[[], GcpGet] = google_auth_get,
) -> Report:
    """Every check of the stack's pools against its cloud (live APIs, the caller's credentials)."""
    name, fleet, gcp_project = load_fleet(project_dir, stack)
    # A one-pool stack's checks keep their plain names; a fleet's spot checks name their pool.
    pools = [(None if fleet.is_single else s.pool, s.deployment) for s in fleet.servers]
    if fleet.cloud == "aws":
        lookup = AwsLookup(aws_client) if aws_client is not None else AwsLookup()
        return Report(name, tuple(aws_fleet_checks(pools, lookup)))
    if not gcp_project:
        raise ConfigError(f"stack {name}: gcp:project is missing; set it with `pulumi config set gcp:project <id>`")
    typed = [(d, gke_accelerator_type(d.accelerator, d.instance_type)) for _, d in pools]
    return Report(name, tuple(gcp_fleet_checks(typed, GcpLookup(gcp_project, gcp_get()))))
