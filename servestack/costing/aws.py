"""AWS machine groups read from a graph: EKS node groups, Auto Scaling groups with launch templates or
launch configurations, EC2 instances, EC2 Fleets, Spot Fleet requests, SageMaker endpoint configurations,
and their aws-native equivalents.

Property names are the camelCase input names the provider receives (pulumi-aws and pulumi-aws-native);
every reader accepts both spellings where the two providers differ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from servestack.catalog.platform import volume_monthly_usd
from servestack.costing.resources import MISSING, UNKNOWN, Resource, contains_unknown, is_unknown, lookup
from servestack.costing.shape import PRICING_TAG, CapacitySplit, Graph, Reading, region_from_zone, whole

__all__ = ["AWS", "AwsAdapter", "EKS_NODE_GROUP", "LAUNCH_TEMPLATES"]

EKS_NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
NATIVE_EKS_NODE_GROUP: Final = "aws-native:eks:Nodegroup"
ASG: Final = "aws:autoscaling/group:Group"
NATIVE_ASG: Final = "aws-native:autoscaling:AutoScalingGroup"
INSTANCE: Final = "aws:ec2/instance:Instance"
NATIVE_INSTANCE: Final = "aws-native:ec2:Instance"
FLEET: Final = "aws:ec2/fleet:Fleet"
SPOT_FLEET: Final = "aws:ec2/spotFleetRequest:SpotFleetRequest"
SAGEMAKER_ENDPOINT_CONFIG: Final = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
NATIVE_SAGEMAKER_ENDPOINT_CONFIG: Final = "aws-native:sagemaker:EndpointConfig"
LAUNCH_TEMPLATE: Final = "aws:ec2/launchTemplate:LaunchTemplate"
NATIVE_LAUNCH_TEMPLATE: Final = "aws-native:ec2:LaunchTemplate"
LAUNCH_TEMPLATES: Final = (LAUNCH_TEMPLATE, NATIVE_LAUNCH_TEMPLATE)
LAUNCH_CONFIGURATION: Final = "aws:ec2/launchConfiguration:LaunchConfiguration"
SUBNETS: Final = ("aws:ec2/subnet:Subnet", "aws-native:ec2:Subnet")

EKS_DEFAULT_INSTANCE_TYPE: Final = "t3.medium"
"""What EKS launches for a managed node group that names no instance type, in the group or its launch template."""
EKS_DEFAULT_DISK_GIB: Final = 20
"""EKS managed node groups without a launch template get a 20 GiB root volume (`diskSize` default)."""
_PRICED_VOLUME_TYPES: Final = ("gp3",)
"""The EBS type whose price the bundled platform table carries (platform.json volume_per_gib_month)."""
_ZONE: Final = re.compile(r"^([a-z]{2}(-[a-z]+)+-\d+)[a-z]$")


def _first(value: Mapping[str, Any] | Any, *keys: str) -> Any:
    """The first of `keys` present in a mapping (the two providers spell some inputs differently)."""
    for key in keys:
        found = lookup(value, key)
        if found is not MISSING:
            return found
    return MISSING


class _Template:
    """A launch template's settings in either provider's shape (aws-native nests them in launchTemplateData)."""

    def __init__(self, r: Resource) -> None:
        self.resource = r
        self.data: Any = r.get("launchTemplateData") if r.type == NATIVE_LAUNCH_TEMPLATE else r.inputs

    def get(self, *path: str | int) -> Any:
        return lookup(self.data, *path)


class AwsAdapter:
    """Reads AWS resource types that run machines; see the module docstring for the list."""

    cloud = "aws"
    resource_types: frozenset[str] = frozenset({
        EKS_NODE_GROUP, NATIVE_EKS_NODE_GROUP, ASG, NATIVE_ASG, INSTANCE, NATIVE_INSTANCE, FLEET, SPOT_FLEET,
        SAGEMAKER_ENDPOINT_CONFIG, NATIVE_SAGEMAKER_ENDPOINT_CONFIG,
    })

    def read(self, r: Resource, graph: Graph) -> list[Reading]:
        if r.type in (EKS_NODE_GROUP, NATIVE_EKS_NODE_GROUP):
            return [self._eks(r, graph)]
        if r.type in (ASG, NATIVE_ASG):
            return [self._asg(r, graph)]
        if r.type in (INSTANCE, NATIVE_INSTANCE):
            return [self._instance(r, graph)]
        if r.type == FLEET:
            return [self._fleet(r, graph)]
        if r.type == SPOT_FLEET:
            return [self._spot_fleet(r, graph)]
        return self._sagemaker(r, graph)

    # -- shared --------------------------------------------------------------------------------------

    def _reading(self, r: Resource, graph: Graph, kind: str) -> Reading:
        return Reading(resource=r, cloud="aws", kind=kind, region=self._region(r, graph))

    def _region(self, r: Resource, graph: Graph, zone: Any = MISSING) -> str | None:
        # The resource's own availability zone is the most specific; AWS rejects one outside the provider's region.
        found = region_from_zone(zone, _ZONE)
        if found:
            return found
        if r.provider and isinstance(r.provider.get("region"), str):
            return str(r.provider["region"])
        if graph.region:
            return graph.region
        configured = graph.config_str("aws:region") or graph.config_str("aws-native:region")
        if configured:
            return configured
        for sub in graph.dependencies_of(r, *SUBNETS):
            found = region_from_zone(sub.get("availabilityZone"), _ZONE)
            if found:
                return found
        return None

    @staticmethod
    def _tag(r: Resource) -> str | None:
        """The pricing tag from map-form tags/labels, or list-form tags ([{key, value}], ASGs and aws-native)."""
        for key in ("tags", "labels"):
            tags = r.get(key)
            if isinstance(tags, dict) and isinstance(tags.get(PRICING_TAG), str):
                return str(tags[PRICING_TAG])
            if isinstance(tags, list):
                for tag in tags:
                    if lookup(tag, "key") == PRICING_TAG and isinstance(lookup(tag, "value"), str):
                        return str(lookup(tag, "value"))
        return None

    def _template(self, r: Resource, graph: Graph, spec: Any, reading: Reading) -> _Template | None:
        """The launch template a spec ({id|launchTemplateId, name|launchTemplateName, version}) names.

        Found through the resource's dependencies (an id is unknown until the template exists), else by a
        literal name or id; a spec naming a template outside the graph cannot be priced.
        """
        if is_unknown(spec):
            reading.fail("launch template unknown during preview", preview=True)
            return None
        ident = _first(spec, "id", "launchTemplateId")
        name = _first(spec, "name", "launchTemplateName")
        candidates = graph.dependencies_of(r, *LAUNCH_TEMPLATES)
        for lt in candidates:
            lt_name = lt.get("launchTemplateName") if lt.type == NATIVE_LAUNCH_TEMPLATE else lt.get("name")
            if isinstance(name, str) and lt_name == name:
                return _Template(lt)
        if len(candidates) == 1:
            return _Template(candidates[0])
        if candidates:
            reading.fail(f"depends on {len(candidates)} launch templates and names none of them literally")
            return None
        for lt in graph.by_urn.values():
            if lt.type in LAUNCH_TEMPLATES and isinstance(name, str) and name in (lt.get("name"),
                                                                                   lt.get("launchTemplateName")):
                return _Template(lt)
        shown = ident if isinstance(ident, str) else name if isinstance(name, str) else "<unnamed>"
        reading.fail(f"launch template {shown} is not in the resource graph, so its instance type is unknown")
        return None

    def _template_settings(self, lt: _Template, reading: Reading) -> None:
        """Instance type, spot market and EBS volumes a template gives every node launched from it."""
        if reading.instance_types is MISSING:
            found = lt.get("instanceType")
            if found is not MISSING and found is not None:
                reading.instance_types = UNKNOWN if is_unknown(found) else [found]
        market = lt.get("instanceMarketOptions", "marketType")
        if is_unknown(market):
            reading.spot = None
            reading.fail(f"{lt.resource.name}: instanceMarketOptions unknown during preview", preview=True)
        elif market == "spot":
            reading.spot = True
        reading.volume_gib_per_node, reading.volume_problem, reading.volume_extras_usd = _template_volume(lt)

    @staticmethod
    def _counts(reading: Reading, lo: Any, want: Any, hi: Any) -> None:
        """(min, desired, max); an Auto Scaling group without a desired capacity starts at its minimum."""
        reading.counts = (lo, lo if want is MISSING else want, hi)

    def _overrides(self, overrides: Any, reading: Reading) -> list[str] | None:
        """Instance types of mixed-instances/fleet overrides; None when there are none."""
        if is_unknown(overrides):
            reading.fail("overrides unknown during preview", preview=True)
            return None
        if not isinstance(overrides, list) or not overrides:
            return None
        types: list[Any] = []
        for item in overrides:
            if lookup(item, "instanceRequirements") not in (MISSING, None):
                reading.fail("instanceRequirements choose instance types at launch, which cannot be priced")
                return None
            weight = whole(lookup(item, "weightedCapacity"))
            if lookup(item, "weightedCapacity") not in (MISSING, None) and weight != 1:
                reading.fail("weightedCapacity other than 1 counts capacity units, not instances; not priced")
                return None
            kind = lookup(item, "instanceType")
            if kind is not MISSING and kind is not None:
                types.append(kind)
        return types or None

    # -- resource kinds ------------------------------------------------------------------------------

    def _eks(self, r: Resource, graph: Graph) -> Reading:
        reading = self._reading(r, graph, "EKS node group")
        types = r.get("instanceTypes")
        if types is not MISSING and types is not None:
            reading.instance_types = types
        cap = r.get("capacityType")
        if is_unknown(cap):
            reading.spot = None
            reading.fail("capacityType unknown during preview", preview=True)
        elif cap in (MISSING, None, "ON_DEMAND"):
            reading.spot = False
        elif cap == "SPOT":
            reading.spot = True
        else:
            reading.spot = None
            reading.fail(f"capacityType {cap} is not priced (ON_DEMAND and SPOT are)")
        scaling = r.get("scalingConfig")
        if is_unknown(scaling):
            reading.counts = (UNKNOWN, UNKNOWN, UNKNOWN)
        else:
            lo, want, hi = (lookup(scaling, k) for k in ("minSize", "desiredSize", "maxSize"))
            reading.counts = (lo, want, hi)
        reading.pricing_tag = self._tag(r)
        ami = r.get("amiType")
        reading.runs_accelerators = isinstance(ami, str) and ("NVIDIA" in ami or "NEURON" in ami or
                                                              ami.endswith("_GPU"))
        spec = r.get("launchTemplate")
        if spec is MISSING or spec is None:
            disk = r.get("diskSize")
            if is_unknown(disk):
                reading.volume_problem = "diskSize is unknown during preview"
            else:
                size = whole(disk) if disk is not MISSING else EKS_DEFAULT_DISK_GIB
                if isinstance(size, int):
                    reading.volume_gib_per_node = float(size)
                else:
                    reading.volume_problem = f"diskSize {disk!r} is not a whole number of GiB"
            if reading.instance_types is MISSING:
                reading.instance_types = [EKS_DEFAULT_INSTANCE_TYPE]
            return reading
        lt = self._template(r, graph, spec, reading)
        if lt is None:
            reading.volume_problem = "its launch template is not in the resource graph"
            return reading
        # A node group's capacityType decides spot; the template supplies the type only when the group names none.
        spot = reading.spot
        self._template_settings(lt, reading)
        reading.spot = spot
        if reading.instance_types is MISSING:
            reading.instance_types = [EKS_DEFAULT_INSTANCE_TYPE]
        return reading

    def _asg(self, r: Resource, graph: Graph) -> Reading:
        reading = self._reading(r, graph, "Auto Scaling group")
        self._counts(reading, r.get("minSize"), r.get("desiredCapacity"), r.get("maxSize"))
        reading.pricing_tag = self._tag(r)
        mixed = r.get("mixedInstancesPolicy")
        if is_unknown(mixed):
            reading.fail("mixedInstancesPolicy unknown during preview", preview=True)
            return reading
        if isinstance(mixed, dict):
            spec = lookup(mixed, "launchTemplate", "launchTemplateSpecification")
            overrides = self._overrides(lookup(mixed, "launchTemplate", "overrides"), reading)
            if overrides is not None:
                reading.instance_types = overrides
            lt = self._template(r, graph, spec, reading)
            if lt is not None:
                self._template_settings(lt, reading)
            self._distribution(lookup(mixed, "instancesDistribution"), reading)
            return reading
        spec = r.get("launchTemplate")
        if spec is not MISSING and spec is not None:
            lt = self._template(r, graph, spec, reading)
            if lt is not None:
                self._template_settings(lt, reading)
            return reading
        config = r.get("launchConfiguration") if r.type == ASG else r.get("launchConfigurationName")
        if config is MISSING or config is None:
            reading.fail("no launch template, mixed instances policy or launch configuration")
            return reading
        found = graph.dependencies_of(r, LAUNCH_CONFIGURATION)
        if not found:
            reading.fail(f"launch configuration {config if isinstance(config, str) else ''} is not in the "
                         "resource graph, so its instance type is unknown")
            return reading
        lc = found[0]
        reading.instance_types = [lc.get("instanceType")]
        price = lc.get("spotPrice")
        reading.spot = None if is_unknown(price) else price not in (MISSING, None, "")
        reading.volume_gib_per_node, reading.volume_problem, reading.volume_extras_usd = _root_block_volume(
            lc, "rootBlockDevice")
        return reading

    @staticmethod
    def _distribution(dist: Any, reading: Reading) -> None:
        """On-demand base and percentage of a mixed instances policy (EC2 defaults: 0 and 100)."""
        if is_unknown(dist) or contains_unknown(dist):
            reading.spot = None
            reading.fail("instancesDistribution unknown during preview", preview=True)
            return
        base = whole(lookup(dist, "onDemandBaseCapacity"))
        pct_raw = lookup(dist, "onDemandPercentageAboveBaseCapacity")
        pct = whole(pct_raw) if pct_raw is not MISSING else 100
        base = base if isinstance(base, int) else 0
        if not isinstance(pct, int) or not 0 <= pct <= 100:
            reading.spot = None
            reading.fail(f"onDemandPercentageAboveBaseCapacity {pct_raw!r} is not a whole percentage")
            return
        if pct == 100:
            reading.spot = False
        elif pct == 0 and base == 0:
            reading.spot = True
        else:
            reading.spot = False
            reading.split = CapacitySplit(on_demand_base=base, on_demand_percent_above_base=float(pct))

    def _instance(self, r: Resource, graph: Graph) -> Reading:
        reading = self._reading(r, graph, "EC2 instance")
        reading.region = self._region(r, graph, r.get("availabilityZone"))
        reading.counts = (1, 1, 1)
        reading.pricing_tag = self._tag(r)
        kind = r.get("instanceType")
        if kind is not MISSING and kind is not None:
            reading.instance_types = UNKNOWN if is_unknown(kind) else [kind]
        market = r.get("instanceMarketOptions", "marketType")
        reading.volume_gib_per_node, reading.volume_problem, reading.volume_extras_usd = _root_block_volume(
            r, "rootBlockDevice")
        spec = r.get("launchTemplate")
        if spec is not MISSING and spec is not None:
            lt = self._template(r, graph, spec, reading)
            if lt is not None:
                own_volume = r.get("rootBlockDevice")
                volume = (reading.volume_gib_per_node, reading.volume_problem, reading.volume_extras_usd)
                self._template_settings(lt, reading)
                if own_volume is not MISSING:
                    reading.volume_gib_per_node, reading.volume_problem, reading.volume_extras_usd = volume
        if is_unknown(market):
            reading.spot = None
            reading.fail("instanceMarketOptions unknown during preview", preview=True)
        elif market == "spot":
            reading.spot = True
        return reading

    def _fleet(self, r: Resource, graph: Graph) -> Reading:
        reading = self._reading(r, graph, "EC2 Fleet")
        target = r.get("targetCapacitySpecification")
        total = lookup(target, "totalTargetCapacity")
        reading.counts = (total, total, total)
        reading.pricing_tag = self._tag(r)
        unit = lookup(target, "targetCapacityUnitType")
        if unit not in (MISSING, None, "units"):
            reading.fail(f"targetCapacityUnitType {unit} counts vCPUs or memory, not instances; not priced")
        configs = r.get("launchTemplateConfigs")
        self._launch_template_configs(r, graph, configs, reading)
        default = lookup(target, "defaultTargetCapacityType")
        on_demand = whole(lookup(target, "onDemandTargetCapacity"))
        spot = whole(lookup(target, "spotTargetCapacity"))
        total_n = whole(total)
        if any(is_unknown(v) for v in (default, on_demand, spot, total_n)):
            reading.spot = None
            reading.fail("targetCapacitySpecification unknown during preview", preview=True)
            return reading
        if not isinstance(total_n, int):
            return reading
        if default == "spot":
            od = on_demand if isinstance(on_demand, int) else 0
        else:
            od = total_n - (spot if isinstance(spot, int) else 0)
        self._fixed_split(reading, od, total_n)
        return reading

    def _spot_fleet(self, r: Resource, graph: Graph) -> Reading:
        reading = self._reading(r, graph, "Spot Fleet request")
        total = r.get("targetCapacity")
        reading.counts = (total, total, total)
        reading.pricing_tag = self._tag(r)
        unit = r.get("targetCapacityUnitType")
        if unit not in (MISSING, None, "units"):
            reading.fail(f"targetCapacityUnitType {unit} counts vCPUs or memory, not instances; not priced")
        specs = r.get("launchSpecifications")
        if isinstance(specs, list) and specs:
            types = self._overrides(specs, reading)
            if types is not None:
                reading.instance_types = types
            reading.region = self._region(r, graph, lookup(specs[0], "availabilityZone"))
        else:
            self._launch_template_configs(r, graph, r.get("launchTemplateConfigs"), reading)
        on_demand, total_n = whole(r.get("onDemandTargetCapacity")), whole(total)
        if is_unknown(on_demand) or is_unknown(total_n):
            reading.spot = None
            reading.fail("target capacity unknown during preview", preview=True)
        elif isinstance(total_n, int):
            self._fixed_split(reading, on_demand if isinstance(on_demand, int) else 0, total_n)
        return reading

    def _launch_template_configs(self, r: Resource, graph: Graph, configs: Any, reading: Reading) -> None:
        if is_unknown(configs):
            reading.fail("launchTemplateConfigs unknown during preview", preview=True)
            return
        if not isinstance(configs, list) or not configs:
            reading.fail("no launch template configuration")
            return
        first = configs[0]
        types = self._overrides(lookup(first, "overrides"), reading)
        if types is not None:
            reading.instance_types = types
        lt = self._template(r, graph, lookup(first, "launchTemplateSpecification"), reading)
        if lt is not None:
            spot = reading.spot
            self._template_settings(lt, reading)
            reading.spot = spot  # the fleet's target capacity decides the market, not the template

    @staticmethod
    def _fixed_split(reading: Reading, on_demand: int, total: int) -> None:
        on_demand = max(0, min(on_demand, total))
        if on_demand == total:
            reading.spot = False
        elif on_demand == 0:
            reading.spot = True
        else:
            reading.spot = False
            reading.split = CapacitySplit(on_demand_base=on_demand, on_demand_percent_above_base=0.0)

    def _sagemaker(self, r: Resource, graph: Graph) -> list[Reading]:
        variants = r.get("productionVariants")
        if is_unknown(variants):
            reading = self._reading(r, graph, "SageMaker endpoint configuration")
            reading.fail("productionVariants unknown during preview", preview=True)
            return [reading]
        if not isinstance(variants, list):
            return []
        out: list[Reading] = []
        for index, variant in enumerate(variants):
            if lookup(variant, "serverlessConfig") not in (MISSING, None):
                continue  # serverless variants run no instances and no accelerators
            name = lookup(variant, "variantName")
            reading = self._reading(r, graph, "SageMaker production variant")
            reading.part = name if isinstance(name, str) else str(index) if len(variants) > 1 else ""
            kind = lookup(variant, "instanceType")
            if kind is not MISSING and kind is not None:
                reading.instance_types = UNKNOWN if is_unknown(kind) else [kind]
                if isinstance(kind, str) and kind.startswith("ml."):
                    reading.facts_type = kind[len("ml."):]
            count = lookup(variant, "initialInstanceCount")
            scaling_max = _first(lookup(variant, "managedInstanceScaling"), "maxInstanceCount")
            reading.counts = (count, count, count if scaling_max is MISSING else scaling_max)
            reading.unpriced = (
                f"SageMaker hosting prices ({kind if isinstance(kind, str) else 'ml.*'}) are not in the "
                "bundled catalog"
            )
            out.append(reading)
        return out


_Volume = tuple[float | None, str | None, float]
"""(GiB per node, why it cannot be priced or None, USD/month per node of gp3 throughput and IOPS above the baseline)."""


def _ebs(ebs: Any, where: str) -> _Volume:
    """One EBS volume: its size, and the throughput (MiB/s) and IOPS provisioned above gp3's free baseline."""
    size, kind = lookup(ebs, "volumeSize"), lookup(ebs, "volumeType")
    throughput, iops = lookup(ebs, "throughput"), lookup(ebs, "iops")
    if any(is_unknown(v) for v in (size, kind, throughput, iops)):
        return None, f"{where}: volume size/type/throughput unknown during preview", 0.0
    if size is MISSING:
        return None, f"{where}: volumeSize not set, so the image's or snapshot's size applies", 0.0
    if kind is not MISSING and kind not in _PRICED_VOLUME_TYPES:
        return None, f"{where}: volume type {kind} is not in the bundled price table (gp3 only)", 0.0
    gib = whole(size)
    if not isinstance(gib, int):
        return None, f"{where}: volumeSize {size!r} is not a whole number", 0.0
    mibps = whole(throughput) if throughput not in (MISSING, None) else 0
    ops = whole(iops) if iops not in (MISSING, None) else 0
    if not isinstance(mibps, int) or not isinstance(ops, int):
        return None, f"{where}: throughput/iops {throughput!r}/{iops!r} are not whole numbers", 0.0
    extras = volume_monthly_usd("aws", 0, mibps, ops)
    return float(gib), None, extras


def _template_volume(lt: _Template) -> _Volume:
    """EBS per node a launch template attaches, and why it cannot be priced (None when it can)."""
    mappings = lt.get("blockDeviceMappings")
    name = lt.resource.name
    if is_unknown(mappings):
        return None, f"{name}: blockDeviceMappings unknown during preview", 0.0
    if not isinstance(mappings, list) or not mappings:
        return None, f"{name}: no blockDeviceMappings, so the AMI's default volume size applies", 0.0
    total, extras = 0.0, 0.0
    for mapping in mappings:
        if lookup(mapping, "ebs") is MISSING:
            continue  # instance-store or no-device mapping: no EBS charge
        gib, problem, extra = _ebs(lookup(mapping, "ebs"), f"{name}: ebs")
        if problem is not None or gib is None:
            return None, problem, 0.0
        total += gib
        extras += extra
    return total, None, extras


def _root_block_volume(r: Resource, key: str) -> _Volume:
    """An instance's (or launch configuration's) root volume."""
    return _ebs(r.get(key), key)


AWS: Final = AwsAdapter()
