"""How many nodes of which instance type a node group or node pool runs, read from its inputs.

Shared by the cost engine and the policies that count accelerators or check capacity types, so both
read `scalingConfig`, `autoscaling`, `capacityType`/`spot` and the pricing tag the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from servestack.catalog import Catalog, InstanceFacts, PricingMode
from servestack.catalog.platform import platform_prices
from servestack.costing.resources import MISSING, UNKNOWN, Resource, Unknown, is_unknown, lookup

__all__ = [
    "EKS_NODE_GROUP",
    "GKE_NODE_POOL",
    "NODE_TYPES",
    "PRICING_TAG",
    "NodeGroup",
    "read_node_group",
    "resource_cloud",
    "stack_cloud",
]

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
NODE_TYPES = (EKS_NODE_GROUP, GKE_NODE_POOL)
AWS_LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
AWS_SUBNET = "aws:ec2/subnet:Subnet"

PRICING_TAG = "servestack-pricing"
"""Tag/label naming the billing mode of a node group (commitments are billing constructs, not resources)."""

_PRICING_VALUES: dict[str, PricingMode] = {"on_demand": "on_demand", "spot": "spot", "1y": "1y", "3y": "3y"}

EKS_DEFAULT_DISK_GIB = 20
"""EKS managed node groups without a launch template get a 20 GiB root volume (`diskSize` default)."""
GKE_DEFAULT_DISK_GB = 100
"""GKE node pools default to 100 GB boot disks (`nodeConfig.diskSizeGb`)."""
_PRICED_VOLUME_TYPES = {"aws": ("gp3",), "gcp": ("pd-balanced",)}
"""The disk types whose price the bundled platform table carries (platform.json volume_per_gib_month)."""

_GPU_FAMILIES = re.compile(r"^(p\d|g\d|inf\d|trn\d|dl\d|a2-|a3-|a4-|g2-)")
_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")
_AWS_ZONE = re.compile(r"^([a-z]{2}(-[a-z]+)+-\d+)[a-z]$")


def resource_cloud(resource_type: str) -> str | None:
    prefix = resource_type.split(":", 1)[0]
    return prefix if prefix in ("aws", "gcp") else None


def stack_cloud(resources: Sequence[Resource], stack_config: Mapping[str, Any] | None = None) -> str | None:
    """The one cloud the graph's provider resources belong to, else the stack config's, else None."""
    clouds = {c for r in resources if (c := resource_cloud(r.type)) is not None}
    if len(clouds) == 1:
        return next(iter(clouds))
    deployment = (stack_config or {}).get("servestack:deployment")
    if isinstance(deployment, Mapping) and deployment.get("cloud") in ("aws", "gcp"):
        return str(deployment["cloud"])
    return None


def _int(value: Any) -> int | None | Any:
    """A whole count from a number input (the engine sends floats); UNKNOWN passes through."""
    if is_unknown(value):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value)


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """One node group/pool as billing sees it; `problem` says why something could not be read."""

    resource: Resource
    cloud: str
    instance_type: str | None
    instance_types: tuple[str, ...]
    region: str | None
    spot: bool | None
    pricing_mode: PricingMode | None
    pricing_note: str | None
    nodes_min: int | None
    nodes_expected: int | None
    nodes_max: int | None
    facts: InstanceFacts | None
    accelerator: str | None
    accelerators_per_node: int | None
    is_gpu: bool | None
    """None when it cannot be told (instance type unknown during a preview)."""
    volume_gib_per_node: float | None
    volume_problem: str | None
    problem: str | None
    """First reason the node group cannot be priced (unknown input, unknown type), None when it can."""
    preview_unknown: bool
    """True when `problem` comes from a value a preview does not know yet."""


def _region_from_zone(zone: object, pattern: re.Pattern[str]) -> str | None:
    if isinstance(zone, str):
        m = pattern.match(zone)
        if m:
            return m.group(1)
    return None


def _aws_region(r: Resource, by_urn: Mapping[str, Resource], region: str | None,
                stack_config: Mapping[str, Any]) -> str | None:
    if r.provider and isinstance(r.provider.get("region"), str):
        return str(r.provider["region"])
    if region:
        return region
    configured = stack_config.get("aws:region")
    if isinstance(configured, str):
        return configured
    for dep in r.dependencies:
        sub = by_urn.get(dep)
        if sub is not None and sub.type == AWS_SUBNET:
            found = _region_from_zone(sub.get("availabilityZone"), _AWS_ZONE)
            if found:
                return found
    return None


def _gcp_location_region(location: object) -> str | None:
    if not isinstance(location, str):
        return None
    return _region_from_zone(location, _ZONE) or location


def _tag(r: Resource, *paths: tuple[str, ...]) -> str | None:
    for path in paths:
        value = r.get(*path, PRICING_TAG)
        if isinstance(value, str):
            return value
    return None


def _pricing(spot: bool | None, tag: str | None) -> tuple[PricingMode | None, str | None]:
    if spot is None:
        return None, None
    mode = _PRICING_VALUES.get(tag) if tag is not None else None
    if tag is not None and mode is None:
        return None, f"{PRICING_TAG}={tag!r} is not one of {', '.join(_PRICING_VALUES)}"
    if spot:
        note = None if mode in (None, "spot") else f"{PRICING_TAG}={tag} ignored: capacity is spot"
        return "spot", note
    if mode == "spot":
        return "on_demand", f"{PRICING_TAG}=spot ignored: capacity is on-demand"
    return mode or "on_demand", None


def _launch_template(r: Resource, by_urn: Mapping[str, Resource]) -> Resource | None:
    for dep in r.dependencies:
        found = by_urn.get(dep)
        if found is not None and found.type == AWS_LAUNCH_TEMPLATE:
            return found
    return None


def _aws_volume(r: Resource, by_urn: Mapping[str, Resource]) -> tuple[float | None, str | None]:
    """GiB of EBS per node and why it cannot be priced (None when it can)."""
    template = r.get("launchTemplate")
    if template is MISSING or template is None:
        disk = r.get("diskSize")
        if is_unknown(disk):
            return None, "diskSize is unknown during preview"
        size = _int(disk) if disk is not MISSING else EKS_DEFAULT_DISK_GIB
        if not isinstance(size, int):
            return None, f"diskSize {disk!r} is not a whole number of GiB"
        return float(size), None
    lt = _launch_template(r, by_urn)
    if lt is None:
        return None, "its launch template is not in the resource graph"
    mappings = lt.get("blockDeviceMappings")
    if is_unknown(mappings):
        return None, f"{lt.name}: blockDeviceMappings unknown during preview"
    if not isinstance(mappings, list) or not mappings:
        return None, f"{lt.name}: no blockDeviceMappings, so the AMI's default volume size applies"
    total = 0.0
    for mapping in mappings:
        size = lookup(mapping, "ebs", "volumeSize")
        kind = lookup(mapping, "ebs", "volumeType")
        if is_unknown(size) or is_unknown(kind):
            return None, f"{lt.name}: ebs volume size/type unknown during preview"
        if size is MISSING:
            if lookup(mapping, "ebs") is MISSING:
                continue  # instance-store or no-device mapping: no EBS charge
            return None, f"{lt.name}: ebs.volumeSize not set, so the snapshot's size applies"
        if kind is not MISSING and kind not in _PRICED_VOLUME_TYPES["aws"]:
            return None, f"{lt.name}: volume type {kind} is not in the bundled price table (gp3 only)"
        whole = _int(size)
        if not isinstance(whole, int):
            return None, f"{lt.name}: ebs.volumeSize {size!r} is not a whole number"
        total += whole
    return total, None


def _gcp_volume(r: Resource) -> tuple[float | None, str | None]:
    size = r.get("nodeConfig", "diskSizeGb")
    kind = r.get("nodeConfig", "diskType")
    if is_unknown(size) or is_unknown(kind):
        return None, "nodeConfig.diskSizeGb/diskType unknown during preview"
    if kind is not MISSING and kind not in _PRICED_VOLUME_TYPES["gcp"]:
        return None, f"disk type {kind} is not in the bundled price table (pd-balanced only)"
    whole = _int(size) if size is not MISSING else GKE_DEFAULT_DISK_GB
    if not isinstance(whole, int):
        return None, f"nodeConfig.diskSizeGb {size!r} is not a whole number"
    return float(whole), None


def _gpu_guess(instance_type: str | None, facts: InstanceFacts | None, r: Resource) -> bool | None:
    if facts is not None:
        return True
    if instance_type is None:
        return None
    accelerators = r.get("nodeConfig", "guestAccelerators")
    if isinstance(accelerators, list) and accelerators:
        return True
    ami = r.get("amiType")
    if isinstance(ami, str) and ("NVIDIA" in ami or "NEURON" in ami or ami.endswith("_GPU")):
        return True
    return bool(_GPU_FAMILIES.match(instance_type))


def read_node_group(
    r: Resource,
    catalog: Catalog,
    by_urn: Mapping[str, Resource],
    *,
    region: str | None = None,
    stack_config: Mapping[str, Any] | None = None,
) -> NodeGroup:
    """Interpret one EKS node group or GKE node pool."""
    config = stack_config or {}
    problems: list[tuple[str, bool]] = []
    if r.type == EKS_NODE_GROUP:
        cloud = "aws"
        types_raw = r.get("instanceTypes")
        cap = r.get("capacityType")
        if is_unknown(cap):
            spot: bool | None = None
            problems.append(("capacityType unknown during preview", True))
        elif cap in (MISSING, None, "ON_DEMAND"):
            spot = False
        elif cap == "SPOT":
            spot = True
        else:
            spot = None
            problems.append((f"capacityType {cap} is not priced (ON_DEMAND and SPOT are)", False))
        counts = [r.get("scalingConfig", k) for k in ("minSize", "desiredSize", "maxSize")]
        where = r.get("scalingConfig")
        found_region = _aws_region(r, by_urn, region, config)
        tag = _tag(r, ("tags",), ("labels",))
        volume, volume_problem = _aws_volume(r, by_urn)
        zones: int | None | Unknown = 1
    else:
        cloud = "gcp"
        machine = r.get("nodeConfig", "machineType")
        types_raw = [machine] if machine is not MISSING else MISSING
        spot_raw, preempt = r.get("nodeConfig", "spot"), r.get("nodeConfig", "preemptible")
        if is_unknown(spot_raw) or is_unknown(preempt):
            spot = None
            problems.append(("nodeConfig.spot unknown during preview", True))
        else:
            spot = spot_raw is True or preempt is True
        where = r.get("autoscaling")
        locations = r.get("nodeLocations")
        location = r.get("location")
        if is_unknown(locations) or (isinstance(locations, list) and any(is_unknown(z) for z in locations)):
            # The pool's zones come from another resource: its per-zone counts cannot be totalled yet, which is
            # a preview unknown, not a regional pool that never named its zones.
            zones = UNKNOWN
            found_region = _gcp_location_region(location)
        elif isinstance(locations, list) and locations:
            zones = len(locations)
            found_region = _gcp_location_region(locations[0])
        else:
            loc_region = _gcp_location_region(location)
            zonal = isinstance(location, str) and _ZONE.match(location) is not None
            zones = 1 if zonal else None
            found_region = loc_region
        if r.provider and isinstance(r.provider.get("region"), str) and found_region is None:
            found_region = str(r.provider["region"])
        if found_region is None:
            found_region = region or (config.get("gcp:region") if isinstance(config.get("gcp:region"), str) else None)
        tag = _tag(r, ("nodeConfig", "resourceLabels"), ("nodeConfig", "labels"))
        volume, volume_problem = _gcp_volume(r)
        counts = _gke_counts(r, zones, problems)

    instance_types: tuple[str, ...] = ()
    if is_unknown(types_raw) or (isinstance(types_raw, list) and any(is_unknown(t) for t in types_raw)):
        problems.append(("instance type unknown during preview", True))
    elif isinstance(types_raw, list) and types_raw and all(isinstance(t, str) for t in types_raw):
        instance_types = tuple(types_raw)
    else:
        problems.append(("no instance type given (the provider default is not priced)", False))
    instance_type = instance_types[0] if instance_types else None

    ints = [_int(c) if c is not MISSING else None for c in counts]
    if any(is_unknown(c) for c in ints) or is_unknown(where):
        problems.append(("node counts unknown during preview", True))
        lo = want = hi = None
    else:
        lo, want, hi = (c if isinstance(c, int) else None for c in ints)
        if hi is None:
            problems.append(("no maximum node count", False))

    facts = catalog.instance_facts(cloud, instance_type) if instance_type else None
    accelerator = facts.accelerator if facts else None
    per_node = facts.accelerators_per_node if facts else None
    if cloud == "gcp":
        accelerator, per_node = _gcp_guest_accelerators(r, catalog, accelerator, per_node, problems)
    mode, note = _pricing(spot, tag)
    if spot is not None and mode is None and note:
        problems.append((note, False))
    if found_region is None:
        problems.append(("region unknown (no provider region, no stack config region)", False))
    is_gpu = _gpu_guess(instance_type, facts, r) if accelerator is None else True
    first = problems[0] if problems else None
    return NodeGroup(
        resource=r,
        cloud=cloud,
        instance_type=instance_type,
        instance_types=instance_types,
        region=found_region,
        spot=spot,
        pricing_mode=mode,
        pricing_note=note,
        nodes_min=lo,
        nodes_expected=want,
        nodes_max=hi,
        facts=facts,
        accelerator=accelerator,
        accelerators_per_node=per_node,
        is_gpu=is_gpu,
        volume_gib_per_node=volume,
        volume_problem=volume_problem,
        problem=first[0] if first else None,
        preview_unknown=first[1] if first else False,
    )


def _gke_counts(r: Resource, zones: int | None | Unknown, problems: list[tuple[str, bool]]) -> list[Any]:
    """[min, expected, max] node totals; per-zone settings are multiplied by the pool's zone count."""
    auto = r.get("autoscaling")
    initial = r.get("initialNodeCount")
    fixed = r.get("nodeCount")
    if is_unknown(auto):
        return [auto, auto, auto]

    def per_zone(value: Any) -> Any:
        if value is MISSING or is_unknown(value):
            return value
        n = _int(value)
        if not isinstance(n, int):
            return MISSING
        if isinstance(zones, Unknown):
            return zones
        if zones is None:
            problems.append(("per-zone node counts in a regional pool without nodeLocations", False))
            return MISSING
        return n * zones

    if isinstance(auto, dict):
        lo = auto.get("totalMinNodeCount", MISSING)
        hi = auto.get("totalMaxNodeCount", MISSING)
        if lo is MISSING and hi is MISSING:
            lo, hi = per_zone(auto.get("minNodeCount", MISSING)), per_zone(auto.get("maxNodeCount", MISSING))
        lo = 0 if lo is MISSING else lo
        start = per_zone(initial) if initial is not MISSING else lo
        if any(is_unknown(v) for v in (lo, hi, start)):
            return [lo, start, hi]
        lo_i, hi_i, start_i = _int(lo), _int(hi), _int(start)
        if isinstance(lo_i, int) and isinstance(hi_i, int) and isinstance(start_i, int):
            # The autoscaler keeps the pool inside its bounds whatever it started with.
            return [lo_i, min(max(start_i, lo_i), hi_i), hi_i]
        return [lo, start, hi if hi is not MISSING else MISSING]
    count = per_zone(fixed if fixed is not MISSING else initial)
    return [count, count, count]


def _gcp_guest_accelerators(
    r: Resource, catalog: Catalog, accelerator: str | None, per_node: int | None,
    problems: list[tuple[str, bool]],
) -> tuple[str | None, int | None]:
    guests = r.get("nodeConfig", "guestAccelerators")
    if is_unknown(guests):
        problems.append(("nodeConfig.guestAccelerators unknown during preview", True))
        return accelerator, per_node
    if not isinstance(guests, list) or not guests:
        return accelerator, per_node
    guest = guests[0]
    kind, count = lookup(guest, "type"), lookup(guest, "count")
    if is_unknown(kind) or is_unknown(count):
        problems.append(("nodeConfig.guestAccelerators unknown during preview", True))
        return accelerator, per_node
    found = catalog.accelerator_for_gcp_type(kind) if isinstance(kind, str) else None
    n = _int(count)
    if accelerator is None:
        return found, n if isinstance(n, int) else None
    return accelerator, per_node


def system_node_price(cloud: str, instance_type: str | None) -> float | None:
    """USD/hour of the platform's system node type (on-demand), None for any other type."""
    prices = platform_prices(cloud)
    if instance_type == prices.system_node_instance_type:
        return prices.system_node_per_hour
    return None
