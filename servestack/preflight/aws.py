"""AWS preflight: EC2 GPU vCPU quotas (Service Quotas), instance type offerings per zone, spot placement scores.

Clients come from boto3's standard configuration (profile, region, AWS_ENDPOINT_URL), so the same code runs
against AWS or any AWS-compatible endpoint. Every lookup answers None when the API refuses (no permission,
not supported there): the check is then `unknown`, never a guess. Missing credentials stop the run (exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from servestack.components.quotas import CapacityGroup, QuotaNeed, aws_quota_needs, merge_needs
from servestack.preflight.checks import Check, PreflightError, Refused

__all__ = [
    "AWS_PERMISSIONS", "AwsLookup", "Boto3Clients", "SPOT_SCORE_MIN", "aws_checks", "aws_fleet_checks", "boto3_client",
]

AWS_PERMISSIONS = (
    "servicequotas:GetServiceQuota, ec2:DescribeInstanceTypeOfferings, ec2:GetSpotPlacementScores"
)
SPOT_SCORE_MIN = 4
"""Spot placement scores run 1-10; below this AWS rates a request for the pool as unlikely to be fulfilled."""

_ZONE_ID = re.compile(r"^[a-z]+[0-9]+-az[0-9]+$")

ClientFactory = Callable[[str, str], Any]
"""(service, region) -> a boto3 client."""


class Boto3Clients:
    """The default client factory: one boto3 session (a fresh one, not boto3's module-level default, which
    caches the first credentials it found), so service models load once however many regions are asked."""

    def __init__(self) -> None:
        self._session: Any = None

    def __call__(self, service: str, region: str) -> Any:
        if self._session is None:
            try:
                import boto3  # type: ignore[import-untyped]
            except ModuleNotFoundError:
                raise PreflightError("preflight on AWS needs boto3: pip install 'servestack[refresh]'", "aws") from None
            self._session = boto3.session.Session()
        return self._session.client(service, region_name=region)


def boto3_client(service: str, region: str) -> Any:
    """A client from a fresh boto3 session (see Boto3Clients)."""
    return Boto3Clients()(service, region)


def _call(client: Any, operation: str, **kwargs: Any) -> dict[str, Any] | Refused:
    from botocore.exceptions import (  # type: ignore[import-untyped]
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.parsers import ResponseParserError  # type: ignore[import-untyped]

    try:
        response: dict[str, Any] = getattr(client, operation)(**kwargs)
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise PreflightError(
            f"preflight: no AWS credentials found ({exc}); set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            f"AWS_SECRET_ACCESS_KEY for an identity allowed {AWS_PERMISSIONS}", "aws") from None
    except ClientError as exc:
        err = exc.response.get("Error", {})
        return Refused(f"{err.get('Code', '?')}: {err.get('Message', '')}".rstrip(": "))
    except BotoCoreError as exc:
        return Refused(str(exc))
    except ResponseParserError as exc:
        # An endpoint that answers something other than the API's format (an AWS-compatible endpoint without the
        # operation): the check cannot be made, which is not a traceback.
        return Refused(f"unreadable answer ({str(exc).splitlines()[0]})")
    return response


@dataclass
class AwsLookup:
    """Cached reads of one account: quotas per (region, code), offered zones per (region, instance type)."""

    client: ClientFactory = field(default_factory=Boto3Clients)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)
    _quotas: dict[tuple[str, str], float | Refused] = field(default_factory=dict)
    _offerings: dict[tuple[str, str], dict[str, set[str]] | Refused] = field(default_factory=dict)

    def _client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.client(service, region)
        return self._clients[key]

    def quota(self, region: str, code: str) -> float | Refused:
        """The applied value of EC2 quota `code` in `region`, or why it could not be read."""
        key = (region, code)
        if key not in self._quotas:
            found = _call(self._client("service-quotas", region), "get_service_quota", ServiceCode="ec2",
                          QuotaCode=code)
            if isinstance(found, Refused):
                self._quotas[key] = found
            else:
                value = found.get("Quota", {}).get("Value")
                self._quotas[key] = float(value) if isinstance(value, int | float) else Refused("no value returned")
        return self._quotas[key]

    def offered_zones(
        self, region: str, instance_type: str, also: Iterable[str] = (), location_type: str = "availability-zone-id"
    ) -> set[str] | Refused:
        """Zones of `region` offering `instance_type`, as zone ids (use1-az1: the same physical zone in every
        account, as the catalog and the stack config name them) or, with location_type "availability-zone", as
        this account's zone names. `also` names more types to fetch in the same call (the region's other
        catalog types), so a planner pays one listing per region."""
        key = (region, location_type)
        cached = self._offerings.get(key)
        if cached is None or (not isinstance(cached, Refused) and instance_type not in cached):
            types = sorted({instance_type, *also} - (set(cached) if isinstance(cached, dict) else set()))
            fetched = self._list_offerings(region, types, location_type)
            if isinstance(fetched, Refused):
                self._offerings[key] = fetched
            else:
                merged = dict(cached) if isinstance(cached, dict) else {}
                merged.update({t: fetched.get(t, set()) for t in types})
                self._offerings[key] = merged
            cached = self._offerings[key]
        if isinstance(cached, Refused):
            return cached
        return cached.get(instance_type, set())

    def _list_offerings(self, region: str, types: list[str], location_type: str) -> dict[str, set[str]] | Refused:
        ec2 = self._client("ec2", region)
        zones: dict[str, set[str]] = {}
        # A filter takes at most 200 values; the catalog has far fewer GPU types per region, chunk anyway.
        for start in range(0, len(types), 200):
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {
                    "LocationType": location_type,
                    "Filters": [{"Name": "instance-type", "Values": types[start:start + 200]}],
                }
                if token:
                    kwargs["NextToken"] = token
                page = _call(ec2, "describe_instance_type_offerings", **kwargs)
                if isinstance(page, Refused):
                    return page
                for row in page.get("InstanceTypeOfferings", []):
                    zones.setdefault(row["InstanceType"], set()).add(row["Location"])
                token = page.get("NextToken")
                if not token:
                    break
        return zones

    def spot_score(self, region: str, instance_type: str | Sequence[str], nodes: int,
                   zone_ids: Iterable[str] = ()) -> int | Refused:
        """The best single-zone spot placement score (1-10) of `nodes` instances in `region`, among `zone_ids`
        when given (scores name zones by id). Several types score the diversified request: a spot group that may
        launch any of them."""
        types = [instance_type] if isinstance(instance_type, str) else list(instance_type)
        found = _call(
            self._client("ec2", region), "get_spot_placement_scores", InstanceTypes=types,
            TargetCapacity=max(nodes, 1), TargetCapacityUnitType="units", SingleAvailabilityZone=True,
            RegionNames=[region],
        )
        if isinstance(found, Refused):
            return found
        wanted = set(zone_ids)
        rows = [s for s in found.get("SpotPlacementScores", []) if "Score" in s]
        scores = [int(s["Score"]) for s in rows if not wanted or s.get("AvailabilityZoneId") in wanted]
        return max(scores) if scores else Refused("no score returned")


def capacity_groups(pricing_base: str, nodes_min: int, pricing_burst: str, burst_nodes: int) -> list[CapacityGroup]:
    """The always-on group at its pricing and the burst group above it, each at its most nodes."""
    groups = [CapacityGroup(pricing_base, nodes_min)]
    if burst_nodes > 0:
        groups.append(CapacityGroup(pricing_burst, burst_nodes))
    return groups


def quota_request_command(need: QuotaNeed) -> str:
    return (
        f"aws service-quotas request-service-quota-increase --service-code ec2 --quota-code {need.quota_id} "
        f"--desired-value {need.needed} --region {need.region}"
    )


def quota_check(need: QuotaNeed, granted: float | Refused) -> Check:
    name = f"aws quota {need.quota_id} ({need.quota_name}) in {need.region}"
    if isinstance(granted, Refused):
        return Check(name, "unknown", f"could not read the quota ({granted.why}); {need.needed} {need.unit} needed "
                     "at peak", f"grant servicequotas:GetServiceQuota, or check the quota in the Service Quotas "
                     f"console (EC2 > {need.quota_name}) is at least {need.needed}")
    if granted >= need.needed:
        return Check(name, "pass", f"{granted:g} {need.unit} granted, {need.needed} needed at peak")
    return Check(
        name, "fail",
        f"{granted:g} {need.unit} granted, {need.needed} needed at peak (short by {need.needed - granted:g})",
        f"raise {need.quota_id} to {need.needed}: {quota_request_command(need)}",
    )


def offering_checks(region: str, instance_type: str, zones: Iterable[str], offered: set[str] | Refused) -> list[Check]:
    checks = []
    for zone in zones:
        name = f"aws {instance_type} offered in {zone}"
        if isinstance(offered, Refused):
            checks.append(Check(name, "unknown", f"could not list offerings ({offered.why})",
                                "grant ec2:DescribeInstanceTypeOfferings"))
        elif zone in offered:
            checks.append(Check(name, "pass", f"{instance_type} is offered in {zone}"))
        else:
            where = ", ".join(sorted(offered)) or f"no zone of {region}"
            checks.append(Check(
                name, "fail", f"{instance_type} is not offered in {zone} (offered in: {where})",
                f"set servestack:deployment.zoneNames to zones that offer it ({where}), or re-plan with "
                "`servestack plan SPEC --env ENV --write --preflight`",
            ))
    return checks


def spot_check(region: str, instance_type: str | Sequence[str], nodes: int, score: int | Refused,
               pool: str | None = None) -> Check:
    shown = instance_type if isinstance(instance_type, str) else "+".join(instance_type)
    name = f"aws spot placement score {shown} x{nodes} in {region}" + (f" (pool {pool})" if pool else "")
    if isinstance(score, Refused):
        return Check(name, "unknown", f"could not read the score ({score.why})", "grant ec2:GetSpotPlacementScores")
    if score >= SPOT_SCORE_MIN:
        return Check(name, "pass", f"best zone scores {score}/10 (at least {SPOT_SCORE_MIN} passes)")
    return Check(
        name, "fail", f"best zone scores {score}/10: a spot request for {nodes} nodes is unlikely to be fulfilled",
        "use on-demand for this group (spec pricing.spot: allowed or never), another region, or fewer spot nodes",
    )


def _groups(d: Any) -> list[CapacityGroup]:
    return capacity_groups(d.pricing_base, d.nodes_min, d.pricing_burst, d.burst_nodes_max)


def aws_checks(deployment: Any, lookup: AwsLookup) -> list[Check]:
    """Every AWS check of one `servestack:deployment` (a contract Deployment)."""
    return aws_fleet_checks([(None, deployment)], lookup)


def aws_fleet_checks(pools: Sequence[tuple[str | None, Any]], lookup: AwsLookup) -> list[Check]:
    """Every AWS check of a stack's pools, given as (pool name, contract Deployment); the name is None for a
    one-pool stack, whose checks keep their plain names.

    The pools of one cluster draw on the same account quotas, so the vCPUs each needs at peak are summed per
    quota code before they are compared (two G-family pools that each fit alone may not fit together). Offerings
    are checked once per instance type and zone, spot placement once per spot pool with every type its spot
    group may launch (`spotInstanceTypes`).
    """
    needs = merge_needs(need for _, d in pools for need in _quota_needs(d))
    checks = [quota_check(n, lookup.quota(n.region, n.quota_id)) for n in needs]
    seen: set[tuple[str, str]] = set()
    for _, d in pools:
        if (d.region, d.instance_type) in seen:
            continue
        seen.add((d.region, d.instance_type))
        offered = lookup.offered_zones(d.region, d.instance_type, location_type=_location_type(d.zone_names))
        checks += offering_checks(d.region, d.instance_type, d.zone_names, offered)
    for pool, d in pools:
        spot_nodes = sum(g.max_nodes for g in _groups(d) if g.pricing == "spot")
        if spot_nodes:
            zone_ids = d.zone_names if _location_type(d.zone_names) == "availability-zone-id" else ()
            # A diversified spot group (spotInstanceTypes, instanceType first) is scored as the request it makes.
            types = list(d.spot_instance_types or [d.instance_type])
            score = lookup.spot_score(d.region, types, spot_nodes, zone_ids)
            checks.append(spot_check(d.region, types, spot_nodes, score, pool))
    return checks


def _quota_needs(d: Any) -> list[QuotaNeed]:
    """The vCPU quotas one pool needs at peak. A diversified spot group (`spotInstanceTypes`) may launch its
    largest type on every node, so its spot nodes count at that type's vCPUs (the types share the accelerator,
    hence the family and the quota code)."""
    groups = _groups(d)
    types = list(d.spot_instance_types or [])
    if not types:
        return aws_quota_needs(d.instance_type, d.node_vcpus, d.region, groups)
    from servestack.catalog import load_catalog

    catalog = load_catalog()
    sizes = [(o.vcpus, t) for t in types if (o := catalog.find_offering("aws", d.region, t)) is not None]
    vcpus, largest = max(sizes, default=(d.node_vcpus, d.instance_type))
    if vcpus < d.node_vcpus:
        vcpus, largest = d.node_vcpus, d.instance_type
    spot = [g for g in groups if g.pricing == "spot"]
    rest = [g for g in groups if g.pricing != "spot"]
    return (aws_quota_needs(d.instance_type, d.node_vcpus, d.region, rest)
            + aws_quota_needs(largest, int(vcpus), d.region, spot))


def _location_type(zone_names: Iterable[str]) -> str:
    """Zone ids (use1-az1) name the same physical zone in every account; anything else is an account's zone name."""
    return "availability-zone-id" if all(_ZONE_ID.match(z) for z in zone_names) else "availability-zone"
