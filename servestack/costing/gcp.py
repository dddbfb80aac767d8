"""GCP machine groups read from a graph: GKE node pools, GCE instances, managed instance groups (zonal and
regional) with their instance templates and autoscalers, and Vertex AI dedicated prediction resources.

Accelerators are attached through `guestAccelerators` (GKE `nodeConfig`, GCE instances and templates) or
come with the machine series (a2/a3/g2); spot capacity is `spot`/`preemptible` or
`scheduling.provisioningModel: SPOT`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from servestack.costing.resources import MISSING, UNKNOWN, Resource, Unknown, is_unknown, lookup
from servestack.costing.shape import EXPECTED_NODES_LABEL, PRICING_TAG, Graph, Reading, region_from_zone, whole

__all__ = ["GCP", "GcpAdapter", "GKE_NODE_POOL"]

GKE_NODE_POOL: Final = "gcp:container/nodePool:NodePool"
INSTANCE: Final = "gcp:compute/instance:Instance"
MIG: Final = "gcp:compute/instanceGroupManager:InstanceGroupManager"
REGIONAL_MIG: Final = "gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager"
TEMPLATES: Final = ("gcp:compute/instanceTemplate:InstanceTemplate",
                    "gcp:compute/regionInstanceTemplate:RegionInstanceTemplate")
AUTOSCALERS: Final = ("gcp:compute/autoscaler:Autoscaler", "gcp:compute/regionAutoscaler:RegionAutoscaler")
VERTEX_POOL: Final = "gcp:vertex/aiDeploymentResourcePool:AiDeploymentResourcePool"
VERTEX_MODEL_GARDEN: Final = "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment"

GKE_DEFAULT_MACHINE_TYPE: Final = "e2-medium"
"""What GKE runs in a node pool whose nodeConfig names no machine type."""
GKE_DEFAULT_DISK_GB: Final = 100
"""GKE node pools default to 100 GB boot disks (`nodeConfig.diskSizeGb`)."""
_PRICED_VOLUME_TYPES: Final = ("pd-balanced",)
"""The disk type whose price the bundled platform table carries (platform.json volume_per_gib_month)."""
_ZONE: Final = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")


def _location_region(location: object) -> str | None:
    if not isinstance(location, str):
        return None
    return region_from_zone(location, _ZONE) or location


def _last_segment(value: object) -> object:
    """`projects/p/zones/z/machineTypes/a3-highgpu-8g` and self links name a type by their last segment."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else value


class GcpAdapter:
    """Reads GCP resource types that run machines; see the module docstring for the list."""

    cloud = "gcp"
    resource_types: frozenset[str] = frozenset({GKE_NODE_POOL, INSTANCE, MIG, REGIONAL_MIG, VERTEX_POOL,
                                                VERTEX_MODEL_GARDEN})

    def read(self, r: Resource, graph: Graph) -> list[Reading]:
        if r.type == GKE_NODE_POOL:
            return [self._node_pool(r, graph)]
        if r.type == INSTANCE:
            return [self._instance(r, graph)]
        if r.type in (MIG, REGIONAL_MIG):
            return [self._mig(r, graph)]
        return [self._vertex(r, graph)]

    # -- shared --------------------------------------------------------------------------------------

    def _fallback_region(self, r: Resource, graph: Graph) -> str | None:
        if r.provider:
            for key in ("region", "zone"):
                found = _location_region(r.provider.get(key))
                if found:
                    return found
        return graph.region or graph.config_str("gcp:region") or _location_region(graph.config_str("gcp:zone"))

    @staticmethod
    def _label(r: Resource, *paths: tuple[str, ...]) -> str | None:
        for path in paths:
            value = r.get(*path, PRICING_TAG)
            if isinstance(value, str):
                return value
        return None

    @staticmethod
    def _scheduling(scheduling: Any, reading: Reading, where: str) -> None:
        """Spot from `scheduling` (GCE instances and templates)."""
        model = lookup(scheduling, "provisioningModel")
        preempt = lookup(scheduling, "preemptible")
        if is_unknown(model) or is_unknown(preempt):
            reading.spot = None
            reading.fail(f"{where}.provisioningModel unknown during preview", preview=True)
            return
        reading.spot = model == "SPOT" or preempt is True

    def _guests(self, guests: Any, graph: Graph, reading: Reading, where: str) -> None:
        """Accelerators attached with guestAccelerators ([{type, count}])."""
        if is_unknown(guests):
            reading.fail(f"{where} unknown during preview", preview=True)
            return
        if not isinstance(guests, list) or not guests:
            return
        guest = guests[0]
        kind, count = _last_segment(lookup(guest, "type")), lookup(guest, "count")
        if is_unknown(kind) or is_unknown(count):
            reading.fail(f"{where} unknown during preview", preview=True)
            return
        reading.runs_accelerators = True
        found = graph.catalog.accelerator_for_gcp_type(kind) if isinstance(kind, str) else None
        n = whole(count)
        reading.accelerator = found
        reading.accelerators_per_node = n if isinstance(n, int) else None

    @staticmethod
    def _machine(value: Any, reading: Reading) -> None:
        if value is MISSING or value is None:
            return
        reading.instance_types = UNKNOWN if is_unknown(value) else [_last_segment(value)]

    # -- resource kinds ------------------------------------------------------------------------------

    def _node_pool(self, r: Resource, graph: Graph) -> Reading:
        reading = Reading(resource=r, cloud="gcp", kind="GKE node pool")
        machine = r.get("nodeConfig", "machineType")
        self._machine(GKE_DEFAULT_MACHINE_TYPE if machine is MISSING or machine is None else machine, reading)
        spot_raw, preempt = r.get("nodeConfig", "spot"), r.get("nodeConfig", "preemptible")
        if is_unknown(spot_raw) or is_unknown(preempt):
            reading.spot = None
            reading.fail("nodeConfig.spot unknown during preview", preview=True)
        else:
            reading.spot = spot_raw is True or preempt is True
        locations = r.get("nodeLocations")
        location = r.get("location")
        zones: int | None | Unknown
        if is_unknown(locations) or (isinstance(locations, list) and any(is_unknown(z) for z in locations)):
            # The pool's zones come from another resource: its per-zone counts cannot be totalled yet, which is
            # a preview unknown, not a regional pool that never named its zones.
            zones = UNKNOWN
            region = _location_region(location)
        elif isinstance(locations, list) and locations:
            zones = len(locations)
            region = _location_region(locations[0])
        else:
            zonal = isinstance(location, str) and _ZONE.match(location) is not None
            zones = 1 if zonal else None
            region = _location_region(location)
        reading.region = region or self._fallback_region(r, graph)
        reading.zones = zones if isinstance(zones, int) else None
        reading.pricing_tag = self._label(r, ("nodeConfig", "resourceLabels"), ("nodeConfig", "labels"))
        reading.volume_gib_per_node, reading.volume_problem = _node_pool_volume(r)
        reading.counts = _gke_counts(r, zones, reading)
        self._guests(r.get("nodeConfig", "guestAccelerators"), graph, reading, "nodeConfig.guestAccelerators")
        return reading

    def _instance(self, r: Resource, graph: Graph) -> Reading:
        reading = Reading(resource=r, cloud="gcp", kind="GCE instance", counts=(1, 1, 1), zones=1)
        self._machine(r.get("machineType"), reading)
        reading.region = _location_region(r.get("zone")) or self._fallback_region(r, graph)
        self._scheduling(r.get("scheduling"), reading, "scheduling")
        self._guests(r.get("guestAccelerators"), graph, reading, "guestAccelerators")
        reading.pricing_tag = self._label(r, ("labels",))
        size = r.get("bootDisk", "initializeParams", "size")
        kind = r.get("bootDisk", "initializeParams", "type")
        reading.volume_gib_per_node, reading.volume_problem = _disk(size, kind, "bootDisk.initializeParams")
        return reading

    def _mig(self, r: Resource, graph: Graph) -> Reading:
        regional = r.type == REGIONAL_MIG
        reading = Reading(resource=r, cloud="gcp", kind="regional managed instance group" if regional
                          else "managed instance group")
        if regional:
            reading.region = _location_region(r.get("region")) or self._fallback_region(r, graph)
            zones = r.get("distributionPolicyZones")
            reading.zones = len(zones) if isinstance(zones, list) and zones else None
        else:
            reading.region = _location_region(r.get("zone")) or self._fallback_region(r, graph)
            reading.zones = 1
        templates = graph.dependencies_of(r, *TEMPLATES)
        if not templates:
            version = r.get("versions", 0, "instanceTemplate")
            shown = _last_segment(version) if isinstance(version, str) else "<unknown>"
            reading.fail(f"instance template {shown} is not in the resource graph, so its machine type is unknown")
        else:
            machines: list[Any] = []
            for template in templates:
                machine = template.get("machineType")
                machines.append(UNKNOWN if is_unknown(machine) else _last_segment(machine))
            reading.instance_types = machines
            first = templates[0]
            self._scheduling(first.get("scheduling"), reading, f"{first.name}: scheduling")
            self._guests(first.get("guestAccelerators"), graph, reading, f"{first.name}: guestAccelerators")
            reading.pricing_tag = self._label(first, ("labels",)) or self._label(r, ("labels",))
            reading.volume_gib_per_node, reading.volume_problem = _template_disks(first)
        target = r.get("targetSize")
        scalers = graph.dependents_of(r, *AUTOSCALERS)
        if scalers:
            policy = scalers[0].get("autoscalingPolicy")
            lo, hi = lookup(policy, "minReplicas"), lookup(policy, "maxReplicas")
            if is_unknown(policy) or is_unknown(lo) or is_unknown(hi) or is_unknown(target):
                reading.counts = (UNKNOWN, UNKNOWN, UNKNOWN)
                return reading
            lo_n, hi_n, target_n = whole(lo) if lo is not MISSING else 1, whole(hi), whole(target)
            start = target_n if isinstance(target_n, int) else lo_n
            if isinstance(lo_n, int) and isinstance(hi_n, int) and isinstance(start, int):
                # The autoscaler keeps the group inside its bounds whatever target it started with.
                reading.counts = (lo_n, min(max(start, lo_n), hi_n), hi_n)
            else:
                reading.counts = (lo, start, hi)
            return reading
        if target is MISSING or target is None:
            reading.fail("no targetSize and no autoscaler")
        reading.counts = (target, target, target)
        return reading

    def _vertex(self, r: Resource, graph: Graph) -> Reading:
        reading = Reading(resource=r, cloud="gcp", kind="Vertex AI deployment")
        resources = (r.get("dedicatedResources") if r.type == VERTEX_POOL
                     else r.get("deployConfig", "dedicatedResources"))
        reading.region = _location_region(r.get("region")) or _location_region(r.get("location")) or \
            self._fallback_region(r, graph)
        if is_unknown(resources):
            reading.fail("dedicatedResources unknown during preview", preview=True)
            return reading
        spec = lookup(resources, "machineSpec")
        self._machine(lookup(spec, "machineType"), reading)
        kind, count = lookup(spec, "acceleratorType"), lookup(spec, "acceleratorCount")
        if isinstance(kind, str) and kind and kind != "ACCELERATOR_TYPE_UNSPECIFIED":
            reading.runs_accelerators = True
            reading.accelerator = graph.catalog.accelerator_for_gcp_type(kind.lower().replace("_", "-"))
            n = whole(count)
            reading.accelerators_per_node = n if isinstance(n, int) else None
        elif is_unknown(kind):
            reading.fail("machineSpec.acceleratorType unknown during preview", preview=True)
        lo, hi = lookup(resources, "minReplicaCount"), lookup(resources, "maxReplicaCount")
        reading.counts = (lo, lo, lo if hi is MISSING or hi is None else hi)
        shown = lookup(spec, "machineType")
        reading.unpriced = (
            f"Vertex AI prediction nodes ({shown if isinstance(shown, str) else 'machine'}) are billed at Vertex "
            "prices, which the bundled catalog does not carry"
        )
        return reading


def _disk(size: Any, kind: Any, where: str) -> tuple[float | None, str | None]:
    if is_unknown(size) or is_unknown(kind):
        return None, f"{where} size/type unknown during preview"
    if size is MISSING or kind is MISSING:
        return None, f"{where}: disk size or type not set, so the image's defaults apply"
    if kind not in _PRICED_VOLUME_TYPES:
        return None, f"disk type {kind} is not in the bundled price table (pd-balanced only)"
    gb = whole(size)
    if not isinstance(gb, int):
        return None, f"{where}: size {size!r} is not a whole number"
    return float(gb), None


def _template_disks(template: Resource) -> tuple[float | None, str | None]:
    disks = template.get("disks")
    if is_unknown(disks):
        return None, f"{template.name}: disks unknown during preview"
    if not isinstance(disks, list) or not disks:
        return None, f"{template.name}: no disks given"
    total = 0.0
    for disk in disks:
        gb, problem = _disk(lookup(disk, "diskSizeGb"), lookup(disk, "diskType"), f"{template.name}: disks")
        if problem is not None or gb is None:
            return None, problem
        total += gb
    return total, None


def _node_pool_volume(r: Resource) -> tuple[float | None, str | None]:
    size = r.get("nodeConfig", "diskSizeGb")
    kind = r.get("nodeConfig", "diskType")
    if is_unknown(size) or is_unknown(kind):
        return None, "nodeConfig.diskSizeGb/diskType unknown during preview"
    if kind is not MISSING and kind not in _PRICED_VOLUME_TYPES:
        return None, f"disk type {kind} is not in the bundled price table (pd-balanced only)"
    gb = whole(size) if size is not MISSING else GKE_DEFAULT_DISK_GB
    if not isinstance(gb, int):
        return None, f"nodeConfig.diskSizeGb {size!r} is not a whole number"
    return float(gb), None


def _gke_counts(r: Resource, zones: int | None | Unknown, reading: Reading) -> tuple[Any, Any, Any]:
    """(min, expected, max) node totals; GKE's per-zone settings are multiplied by the pool's zone count.

    `nodeCount`, `initialNodeCount` and `autoscaling.min/maxNodeCount` are per zone; only
    `autoscaling.totalMin/totalMaxNodeCount` are totals.
    """
    auto = r.get("autoscaling")
    initial = r.get("initialNodeCount")
    fixed = r.get("nodeCount")
    if is_unknown(auto):
        return (UNKNOWN, UNKNOWN, UNKNOWN)

    def per_zone(value: Any) -> Any:
        if value is MISSING or value is None or is_unknown(value):
            return MISSING if value is None else value
        n = whole(value)
        if not isinstance(n, int):
            return MISSING
        if isinstance(zones, Unknown):
            return zones
        if zones is None:
            reading.fail("per-zone node counts in a regional pool without nodeLocations")
            return MISSING
        return n * zones

    if isinstance(auto, dict):
        lo = auto.get("totalMinNodeCount", MISSING)
        hi = auto.get("totalMaxNodeCount", MISSING)
        if lo is MISSING and hi is MISSING:
            lo, hi = per_zone(auto.get("minNodeCount", MISSING)), per_zone(auto.get("maxNodeCount", MISSING))
        lo = 0 if lo is MISSING or lo is None else lo
        start = per_zone(initial) if initial not in (MISSING, None) else lo
        planned = r.get("nodeConfig", "resourceLabels", EXPECTED_NODES_LABEL)
        if isinstance(planned, str) and planned.isdigit() and "totalMaxNodeCount" in auto:
            start = int(planned)
        if any(is_unknown(v) for v in (lo, hi, start)):
            return (lo, start, hi)
        lo_i, hi_i, start_i = whole(lo), whole(hi), whole(start)
        if isinstance(lo_i, int) and isinstance(hi_i, int) and isinstance(start_i, int):
            # The autoscaler keeps the pool inside its bounds whatever it started with.
            return (lo_i, min(max(start_i, lo_i), hi_i), hi_i)
        return (lo, start, hi)
    count = per_zone(fixed if fixed not in (MISSING, None) else initial)
    return (count, count, count)


GCP: Final = GcpAdapter()
