"""`servestack plan --preflight`: the selector's candidates checked against the live clouds.

Two passes keep it cheap. Before sizing, every offering is vetoed when its type is offered in fewer zones than
the spec needs (`not_offered`) or when no pricing mode the spec allows has quota for even one node (`quota`):
one offerings listing per AWS region, one quota read per (region, quota) and GCP region, all cached. After
ranking, the chosen stack's full peak is checked against the quotas; an offering short at peak is vetoed too
and the plan is ranked again, until the cheapest stack fits or none is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from servestack.components.quotas import CapacityGroup, aws_quota_needs
from servestack.preflight.aws import AwsLookup, capacity_groups
from servestack.preflight.checks import PreflightError, Refused
from servestack.preflight.gcp import GcpGet, GcpLookup, google_auth_get, gpu_metric
from servestack.preflight.stack import gke_accelerator_type

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.catalog.types import Offering
    from servestack.selector import Plan
    from servestack.workload import WorkloadSpec

__all__ = ["PlanPreflight", "plan_with_preflight"]

MAX_REPLANS = 20
"""Most times the chosen stack may fail its peak check before the plan gives up re-ranking (each costs one
quota read per offering, all cached)."""


@dataclass
class PlanPreflight:
    """The vetoes and the checks that could not be made, for the plan's JSON and table."""

    spec: WorkloadSpec
    catalog: Catalog
    aws: AwsLookup | None
    gcp: GcpLookup | None
    excluded: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    _region_types: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for o in self.catalog.offerings:
            self._region_types.setdefault((o.cloud, o.region), []).append(o.instance_type)

    def _modes(self) -> list[str]:
        """The pricing modes the spec allows, in a fixed order (quota reads and notes come out the same each run)."""
        from servestack.selector.plan import pricing_combinations

        combos = pricing_combinations(self.spec.pricing.spot, self.spec.pricing.commitment)
        return sorted({m for pair in combos for m in pair})

    def _veto(self, o: Offering, reason: str, detail: str) -> str:
        self.excluded[(o.cloud, o.region, o.instance_type)] = {
            "cloud": o.cloud, "region": o.region, "instance_type": o.instance_type, "reason": reason, "detail": detail,
        }
        return reason

    def exclude(self, o: Offering) -> str | None:
        known = self.excluded.get((o.cloud, o.region, o.instance_type))
        if known is not None:
            return known["reason"]
        if o.cloud == "aws":
            return self._aws(o)
        return self._gcp(o)

    def _aws(self, o: Offering) -> str | None:
        if self.aws is None:
            self.unknown["aws"] = "aws: not checked (no AWS credentials)"
            return None
        needed = self.spec.availability.zones
        offered = self.aws.offered_zones(o.region, o.instance_type, also=self._region_types[("aws", o.region)])
        if isinstance(offered, Refused):
            self.unknown[f"aws {o.region} offerings"] = f"aws {o.region}: offerings not checked ({offered.why})"
        elif len(offered) < needed:
            return self._veto(o, "not_offered", f"offered in {len(offered)} zone(s) of {o.region} "
                              f"({', '.join(sorted(offered)) or 'none'}), {needed} needed")
        short = []
        for mode in self._modes():
            for need in aws_quota_needs(o.instance_type, o.vcpus, o.region, [CapacityGroup(mode, 1)]):
                granted = self.aws.quota(o.region, need.quota_id)
                if isinstance(granted, Refused):
                    self.unknown[f"aws {o.region} {need.quota_id}"] = (
                        f"aws {o.region} {need.quota_id}: quota not checked ({granted.why})")
                    return None
                if granted >= need.needed:
                    return None
                short.append(f"{need.quota_id} is {granted:g} vCPUs, one node needs {need.needed}")
        return self._veto(o, "quota", "; ".join(short)) if short else None

    def _gcp(self, o: Offering) -> str | None:
        if self.gcp is None:
            self.unknown["gcp"] = "gcp: not checked (give --gcp-project, with Application Default Credentials)"
            return None
        accel = gke_accelerator_type(o.accelerator, o.instance_type)
        zones = self.gcp.accelerator_zones(accel)
        needed = self.spec.availability.zones
        if isinstance(zones, Refused):
            self.unknown["gcp accelerator types"] = f"gcp: accelerator types not checked ({zones.why})"
        else:
            here = sorted(z for z in zones if z.rsplit("-", 1)[0] == o.region)
            if len(here) < needed:
                return self._veto(o, "not_offered", f"{accel} offered in {len(here)} zone(s) of {o.region} "
                                  f"({', '.join(here) or 'none'}), {needed} needed")
        return self._gcp_quota(o, accel, o.accelerators_per_node)

    def _gcp_quota(self, o: Offering, accel: str, gpus: int, spot_gpus: int | None = None) -> str | None:
        """None when some allowed pricing mode has quota for `gpus` (or, with spot_gpus, the exact split)."""
        assert self.gcp is not None
        regional, overall = self.gcp.region_quotas(o.region), self.gcp.project_quotas()
        metric, preemptible = gpu_metric(accel), gpu_metric(accel, preemptible=True)
        problem = next((r.why for r in (regional, overall) if isinstance(r, Refused)), None)
        if metric is None or preemptible is None:
            problem = f"no quota metric known for {accel}"
        if problem is not None or isinstance(regional, Refused) or isinstance(overall, Refused):
            self.unknown[f"gcp {o.region} quotas"] = f"gcp {o.region}: quotas not checked ({problem})"
            return None
        all_regions = overall.get("GPUS_ALL_REGIONS", 0.0)
        standard = regional.get(str(metric), 0.0)
        granted_preemptible = regional.get(str(preemptible), 0.0)
        # Spot VMs draw on preemptible quota where the project has it, on the regular GPU quota otherwise.
        spot_quota = granted_preemptible or standard
        if spot_gpus is None:
            modes = self._modes()
            fits = (any(m != "spot" for m in modes) and standard >= gpus) or ("spot" in modes and spot_quota >= gpus)
        else:
            fits = standard >= gpus - spot_gpus and spot_quota >= spot_gpus
        if fits and all_regions >= gpus:
            return None
        return self._veto(o, "quota", f"{metric} {standard:g}, {preemptible} {granted_preemptible:g}, "
                          f"GPUS_ALL_REGIONS {all_regions:g}; {gpus} GPUs needed")

    def short_at_peak(self, candidate: Any) -> str | None:
        """Veto the chosen candidate's offering when its node groups at peak exceed a quota; None when they fit
        (or the quotas could not be read)."""
        o = candidate.offering
        groups = capacity_groups(candidate.pricing_base, candidate.nodes_min, candidate.pricing_burst,
                                 candidate.nodes_peak - candidate.nodes_min)
        if o.cloud == "aws":
            if self.aws is None:
                return None
            for need in aws_quota_needs(o.instance_type, o.vcpus, o.region, groups):
                granted = self.aws.quota(o.region, need.quota_id)
                if not isinstance(granted, Refused) and granted < need.needed:
                    return self._veto(o, "quota", f"{need.quota_id} is {granted:g} vCPUs, the cheapest stack on it "
                                      f"needs {need.needed} at peak")
            return None
        if self.gcp is None:
            return None
        per_node = o.accelerators_per_node
        spot = sum(g.max_nodes for g in groups if g.pricing == "spot") * per_node
        total = sum(g.max_nodes for g in groups) * per_node
        return self._gcp_quota(o, gke_accelerator_type(o.accelerator, o.instance_type), total, spot)

    def to_json(self) -> dict[str, Any]:
        return {"excluded": sorted(self.excluded.values(), key=lambda e: (e["cloud"], e["region"], e["instance_type"])),
                "unknown": sorted(self.unknown.values())}


def plan_with_preflight(
    spec: WorkloadSpec,
    catalog: Catalog,
    top: int = 5,
    *,
    aws_client: Callable[[str, str], Any] | None = None,
    check_aws: bool = True,
    gcp_get: Callable[[], GcpGet] | None = google_auth_get,
    gcp_project: str | None = None,
) -> tuple[Plan, PlanPreflight]:
    """The plan with every offering the live clouds refuse vetoed, and what the vetoes and gaps were.

    `aws_client` builds boto3 clients (default: one fresh session); `check_aws=False` leaves AWS unchecked. A
    cloud without credentials is reported as not checked (its offerings are not vetoed)."""
    aws = (AwsLookup(aws_client) if aws_client is not None else AwsLookup()) if check_aws else None
    gcp = None
    if gcp_get is not None and gcp_project:
        try:
            gcp = GcpLookup(gcp_project, gcp_get())
        except PreflightError:
            gcp = None
    try:
        return _replan(spec, catalog, top, PlanPreflight(spec, catalog, aws, gcp))
    except PreflightError as exc:
        if exc.cloud != "aws":
            raise
        # No AWS credentials: rank again without asking AWS; the plan says AWS was not checked.
        return _replan(spec, catalog, top, PlanPreflight(spec, catalog, None, gcp))


def _replan(spec: WorkloadSpec, catalog: Catalog, top: int, checker: PlanPreflight) -> tuple[Plan, PlanPreflight]:
    from servestack.selector import plan

    result = plan(spec, catalog, top=top, exclude=checker.exclude)
    for _ in range(MAX_REPLANS):
        if result.chosen is None or checker.short_at_peak(result.chosen) is None:
            break
        result = plan(spec, catalog, top=top, exclude=checker.exclude)
    return result, checker
