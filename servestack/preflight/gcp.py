"""GCP preflight over the REST APIs (google-auth + requests, no Google client libraries): regional GPU quotas
(on-demand and preemptible, per GPU model), GPUS_ALL_REGIONS, accelerator types per zone, required APIs.

The transport is injectable: it GETs a URL and answers (HTTP status, decoded JSON). Tests put recorded
responses behind it; the default one is an authorised google-auth session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from servestack.components.quotas import GCP_ALL_REGIONS_QUOTA, GCP_FAMILY_QUOTA, GCP_GPU_FAMILIES
from servestack.preflight.checks import Check, PreflightError, Refused

__all__ = ["GcpGet", "GcpLookup", "REQUIRED_APIS", "gcp_checks", "gcp_fleet_checks", "google_auth_get", "gpu_metric"]

GcpGet = Callable[[str, Mapping[str, str]], tuple[int, Mapping[str, Any]]]
"""GET url with query params -> (HTTP status, decoded JSON body)."""

COMPUTE = "https://compute.googleapis.com/compute/v1/projects/{project}"
SERVICE = "https://serviceusage.googleapis.com/v1/projects/{project}/services/{service}"
REQUIRED_APIS = ("container", "artifactregistry", "compute", "secretmanager", "iam")
GCP_NEEDS = (
    "Application Default Credentials (`gcloud auth application-default login` or GOOGLE_APPLICATION_CREDENTIALS) "
    "for an identity with compute.regions.get, compute.projects.get, compute.acceleratorTypes.list and "
    "serviceusage.services.get on the project"
)


def google_auth_get() -> GcpGet:
    """The default transport: an authorised session of the Application Default Credentials."""
    try:
        import google.auth
        from google.auth.exceptions import DefaultCredentialsError
        from google.auth.transport.requests import AuthorizedSession
    except ModuleNotFoundError:
        raise PreflightError("preflight on GCP needs google-auth: pip install 'servestack[refresh]'", "gcp") from None
    try:
        credentials, _project = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except DefaultCredentialsError as exc:
        raise PreflightError(f"preflight: no Google credentials ({exc}); needs {GCP_NEEDS}", "gcp") from None
    session = AuthorizedSession(credentials)

    def get(url: str, params: Mapping[str, str]) -> tuple[int, Mapping[str, Any]]:
        try:
            resp = session.get(url, params=dict(params), timeout=30)
        except Exception as exc:  # noqa: BLE001 - a network failure makes the check unknown, not a traceback
            return 0, {"error": {"message": str(exc)}}
        try:
            body = resp.json()
        except ValueError:
            body = {"error": {"message": resp.text[:200]}}
        return resp.status_code, body if isinstance(body, Mapping) else {}

    return get


def gpu_metric(accelerator_type: str, preemptible: bool = False) -> str | None:
    """The regional quota metric of a GKE accelerator type: nvidia-l4 -> NVIDIA_L4_GPUS (PREEMPTIBLE_ first)."""
    family = GCP_GPU_FAMILIES.get(accelerator_type)
    if family is None:
        return None
    return ("PREEMPTIBLE_" if preemptible else "") + family + "_GPUS"



def _why(status: int, body: Mapping[str, Any]) -> str:
    error = body.get("error")
    message = error.get("message", "") if isinstance(error, Mapping) else ""
    return f"HTTP {status}: {message}".rstrip(": ") if status else f"unreachable: {message}"


@dataclass
class GcpLookup:
    """Cached reads of one project: quotas per region, project quotas, accelerator types per zone, API states."""

    project: str
    get: GcpGet
    _regions: dict[str, dict[str, float] | Refused] = field(default_factory=dict)
    _project_quotas: dict[str, float] | Refused | None = None
    _accelerators: dict[str, set[str]] | Refused | None = None

    def _quotas_of(self, url: str) -> dict[str, float] | Refused:
        status, body = self.get(url, {})
        if status != 200:
            return Refused(_why(status, body))
        return {q["metric"]: float(q.get("limit", 0)) for q in body.get("quotas", []) if "metric" in q}

    def region_quotas(self, region: str) -> dict[str, float] | Refused:
        if region not in self._regions:
            self._regions[region] = self._quotas_of(COMPUTE.format(project=self.project) + f"/regions/{region}")
        return self._regions[region]

    def project_quotas(self) -> dict[str, float] | Refused:
        if self._project_quotas is None:
            self._project_quotas = self._quotas_of(COMPUTE.format(project=self.project))
        return self._project_quotas

    def accelerator_zones(self, accelerator_type: str) -> set[str] | Refused:
        """Zones offering `accelerator_type` (one aggregated listing for the project, then cached)."""
        if self._accelerators is None:
            self._accelerators = self._list_accelerators()
        if isinstance(self._accelerators, Refused):
            return self._accelerators
        return self._accelerators.get(accelerator_type, set())

    def _list_accelerators(self) -> dict[str, set[str]] | Refused:
        url = COMPUTE.format(project=self.project) + "/aggregated/acceleratorTypes"
        zones: dict[str, set[str]] = {}
        params: dict[str, str] = {}
        while True:
            status, body = self.get(url, params)
            if status != 200:
                return Refused(_why(status, body))
            for scope, entry in body.get("items", {}).items():
                zone = scope.rsplit("/", 1)[-1]
                for acc in entry.get("acceleratorTypes", []):
                    zones.setdefault(acc["name"], set()).add(zone)
            token = body.get("nextPageToken")
            if not token:
                return zones
            params = {"pageToken": token}

    def api_state(self, api: str) -> str | Refused:
        status, body = self.get(SERVICE.format(project=self.project, service=f"{api}.googleapis.com"), {})
        if status != 200:
            return Refused(_why(status, body))
        return str(body.get("state", "STATE_UNSPECIFIED"))


def _quota_fix(project: str, metric: str, region: str, value: int, family: str | None) -> str:
    if metric == "GPUS_ALL_REGIONS":
        return (f"raise GPUS_ALL_REGIONS to {value}: gcloud quotas preferences create --service=compute.googleapis.com "
                f"--quota-id={GCP_ALL_REGIONS_QUOTA} --preferred-value={value} --project={project}")
    if family and not metric.startswith("PREEMPTIBLE_"):
        return (f"raise {metric} in {region} to {value}: gcloud quotas preferences create "
                f"--service=compute.googleapis.com --quota-id={GCP_FAMILY_QUOTA} --preferred-value={value} "
                f"--dimensions=region={region},gpu_family={family} --project={project}")
    return (f"raise {metric} in {region} to {value} (console: IAM & Admin > Quotas, metric {metric}); find its quota "
            f"id with `gcloud quotas info list --service=compute.googleapis.com --project={project}`")


def quota_check(project: str, metric: str, region: str, needed: int, quotas: dict[str, float] | Refused,
                family: str | None, fallback: str | None = None) -> Check:
    """`needed` GPUs against `metric`; when the project has no such metric (or it is 0) and `fallback` is
    given, against that one instead (spot VMs draw on the regular GPU quota when no preemptible quota exists)."""
    where = region if region != "global" else "all regions"
    name = f"gcp quota {metric} in {where}"
    if isinstance(quotas, Refused):
        return Check(name, "unknown", f"could not read quotas ({quotas.why}); {needed} GPUs needed at peak",
                     f"grant compute.regions.get / compute.projects.get on {project}, or enable the Compute API")
    granted = quotas.get(metric)
    if not granted and fallback is not None and quotas.get(fallback):
        granted, name, metric = quotas[fallback], f"gcp quota {fallback} in {where} (no {metric})", fallback
    granted = granted or 0.0
    if granted >= needed:
        return Check(name, "pass", f"{granted:g} GPUs granted, {needed} needed at peak")
    return Check(name, "fail", f"{granted:g} GPUs granted, {needed} needed at peak (short by {needed - granted:g})",
                 _quota_fix(project, metric, region, needed, family))


def offering_checks(
    project: str, accelerator_type: str, zones: Iterable[str], offered: set[str] | Refused
) -> list[Check]:
    checks = []
    for zone in zones:
        name = f"gcp {accelerator_type} offered in {zone}"
        if isinstance(offered, Refused):
            checks.append(Check(name, "unknown", f"could not list accelerator types ({offered.why})",
                                f"grant compute.acceleratorTypes.list on {project}"))
        elif zone in offered:
            checks.append(Check(name, "pass", f"{accelerator_type} is offered in {zone}"))
        else:
            region = zone.rsplit("-", 1)[0]
            here = sorted(z for z in offered if z.startswith(region + "-"))
            where = ", ".join(here) or f"no zone of {region}"
            checks.append(Check(
                name, "fail", f"{accelerator_type} is not offered in {zone} (offered in: {where})",
                f"set servestack:deployment.zoneNames to zones that offer it ({where}), or re-plan with "
                "`servestack plan SPEC --env ENV --write --preflight`",
            ))
    return checks


def api_check(project: str, api: str, state: str | Refused) -> Check:
    name = f"gcp API {api}.googleapis.com enabled"
    fix = f"gcloud services enable {api}.googleapis.com --project={project}"
    if isinstance(state, Refused):
        return Check(name, "unknown", f"could not read the service state ({state.why})",
                     f"grant serviceusage.services.get on {project}, or run: {fix}")
    if state == "ENABLED":
        return Check(name, "pass", f"{api}.googleapis.com is enabled on {project}")
    return Check(name, "fail", f"{api}.googleapis.com is {state} on {project}", fix)


def gcp_checks(deployment: Any, accelerator_type: str, lookup: GcpLookup) -> list[Check]:
    """Every GCP check of one `servestack:deployment` (a contract Deployment) on its GKE accelerator type."""
    return gcp_fleet_checks([(deployment, accelerator_type)], lookup)


def gcp_fleet_checks(pools: Sequence[tuple[Any, str]], lookup: GcpLookup) -> list[Check]:
    """Every GCP check of a stack's pools, each a (contract Deployment, GKE accelerator type).

    The pools of one cluster draw on the same project quotas: GPUs are summed per accelerator type for the
    regional quotas (on-demand and preemptible) and over every pool for GPUS_ALL_REGIONS. APIs are asked once,
    accelerator offerings once per type.
    """
    from servestack.preflight.aws import capacity_groups

    project = lookup.project
    checks = [api_check(project, api, lookup.api_state(api)) for api in REQUIRED_APIS]
    # (region, accelerator type) -> [on-demand GPUs, spot GPUs] at peak, in stack order.
    gpus: dict[tuple[str, str], list[int]] = {}
    for d, accelerator_type in pools:
        groups = capacity_groups(d.pricing_base, d.nodes_min, d.pricing_burst, d.burst_nodes_max)
        counted = gpus.setdefault((d.region, accelerator_type), [0, 0])
        counted[0] += sum(g.max_nodes for g in groups if g.pricing != "spot") * d.accelerators_per_node
        counted[1] += sum(g.max_nodes for g in groups if g.pricing == "spot") * d.accelerators_per_node
    for (region, accelerator_type), (on_demand, spot) in gpus.items():
        family = GCP_GPU_FAMILIES.get(accelerator_type)
        metric, preemptible = gpu_metric(accelerator_type), gpu_metric(accelerator_type, preemptible=True)
        if metric is None or preemptible is None:
            checks.append(Check(f"gcp quota for {accelerator_type} in {region}", "unknown",
                                f"servestack does not know the quota metric of {accelerator_type}",
                                f"check the GPU quotas of {region} in the console"))
            continue
        regional = lookup.region_quotas(region)
        if on_demand:
            checks.append(quota_check(project, metric, region, on_demand, regional, family))
        if spot:
            checks.append(quota_check(project, preemptible, region, spot, regional, family, fallback=metric))
    total = sum(on_demand + spot for on_demand, spot in gpus.values())
    checks.append(quota_check(project, "GPUS_ALL_REGIONS", "global", total, lookup.project_quotas(), None))
    seen: set[str] = set()
    for d, accelerator_type in pools:
        if accelerator_type in seen:
            continue
        seen.add(accelerator_type)
        checks += offering_checks(project, accelerator_type, d.zone_names, lookup.accelerator_zones(accelerator_type))
    return checks
