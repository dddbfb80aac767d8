"""Every resource kind that runs accelerators is priced from its inputs, or reported as unpriced (never $0).

Expectations come from bundled catalog lookups, so a price refresh does not break them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.catalog import load_catalog
from servestack.catalog.platform import HOURS_PER_MONTH, platform_prices
from servestack.costing import Resource, cost_resources
from servestack.costing.nodes import COMPUTE_TYPES, CapacitySplit
from servestack.costing.resources import as_resources
from tests.costing.graphs import res

H = HOURS_PER_MONTH
WIRE_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
GP3 = platform_prices("aws").volume_per_gib_month
PD = platform_prices("gcp").volume_per_gib_month


def _price(cloud: str, region: str, instance_type: str, mode: str = "on_demand") -> float:
    offering = load_catalog().find_offering(cloud, region, instance_type)
    assert offering is not None, (cloud, region, instance_type)
    price = offering.price(mode)  # type: ignore[arg-type]
    assert price is not None
    return price


def _compute(graph: list[Resource], name: str, config: dict[str, Any] | None = None) -> Any:
    report = cost_resources(graph, stack_config={"aws:region": "us-east-1"} if config is None else config)
    lines = [ln for ln in report.lines if ln.name == name and ln.item.startswith("compute")]
    assert len(lines) == 1, report.lines
    return lines[0]


def _template(name: str = "gpu", **inputs: Any) -> Resource:
    base: dict[str, Any] = {"instanceType": "p5.48xlarge", "imageId": "ami-0123",
                            "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                                                     "ebs": {"volumeSize": 500, "volumeType": "gp3"}}]}
    base.update(inputs)
    return res("aws:ec2/launchTemplate:LaunchTemplate", name, base)


def _asg(lt: Resource | None, **inputs: Any) -> Resource:
    base: dict[str, Any] = {"minSize": 50, "maxSize": 50, "desiredCapacity": 50,
                            "availabilityZones": ["us-east-1a"],
                            # The resolved id of the template: the mock engine's, or unknown in a real preview.
                            "launchTemplate": {"id": "lt-0abc", "version": "$Latest"},
                            "tags": [{"key": "team", "value": "ml", "propagateAtLaunch": True}]}
    base.update(inputs)
    return res("aws:autoscaling/group:Group", "gpu-asg", base, deps=(lt.urn,) if lt else ())


# -- AWS ------------------------------------------------------------------------------------------------


def test_asg_of_fifty_p5_with_a_launch_template_prices_every_node() -> None:
    lt = _template()
    line = _compute([lt, _asg(lt)], "gpu-asg")
    expected = 50 * _price("aws", "us-east-1", "p5.48xlarge") * H
    assert line.ceiling == pytest.approx(expected) and line.expected == pytest.approx(expected)
    assert line.ceiling > 1_000_000  # not the platform-only figure a graph without the ASG priced
    volumes = [ln for ln in cost_resources([lt, _asg(lt)], stack_config={"aws:region": "us-east-1"}).lines
               if ln.item == "volumes"]
    assert volumes[0].ceiling == pytest.approx(50 * 500 * GP3)


def test_asg_launch_template_id_unknown_during_preview_is_found_through_dependencies() -> None:
    lt = _template()
    line = _compute([lt, _asg(lt, launchTemplate={"id": WIRE_UNKNOWN, "version": "$Latest"})], "gpu-asg")
    assert line.ceiling == pytest.approx(50 * _price("aws", "us-east-1", "p5.48xlarge") * H)


def test_asg_desired_and_max_capacity_give_expected_and_ceiling() -> None:
    lt = _template()
    line = _compute([lt, _asg(lt, minSize=1, desiredCapacity=2, maxSize=6)], "gpu-asg")
    hourly = _price("aws", "us-east-1", "p5.48xlarge")
    assert line.expected == pytest.approx(2 * hourly * H) and line.ceiling == pytest.approx(6 * hourly * H)


def test_asg_without_desired_capacity_starts_at_its_minimum() -> None:
    lt = _template()
    graph = [lt, _asg(lt, minSize=3, maxSize=6)]
    graph[1].inputs.pop("desiredCapacity")
    line = _compute(graph, "gpu-asg")
    assert line.expected == pytest.approx(3 * _price("aws", "us-east-1", "p5.48xlarge") * H)


def test_spot_launch_template_prices_spot() -> None:
    lt = _template(instanceMarketOptions={"marketType": "spot"})
    line = _compute([lt, _asg(lt)], "gpu-asg")
    assert line.ceiling == pytest.approx(50 * _price("aws", "us-east-1", "p5.48xlarge", "spot") * H)


def test_mixed_instances_policy_splits_on_demand_and_spot_and_uses_overrides() -> None:
    lt = _template(instanceType=None)
    mixed = {
        "launchTemplate": {"launchTemplateSpecification": {"launchTemplateId": WIRE_UNKNOWN, "version": "$Latest"},
                           "overrides": [{"instanceType": "g6.12xlarge"}, {"instanceType": "g5.12xlarge"}]},
        "instancesDistribution": {"onDemandBaseCapacity": 2, "onDemandPercentageAboveBaseCapacity": 25},
    }
    asg = _asg(lt, minSize=2, desiredCapacity=6, maxSize=10, mixedInstancesPolicy=mixed)
    asg.inputs.pop("launchTemplate")
    line = _compute([lt, asg], "gpu-asg")
    first_od, first_spot = (_price("aws", "us-east-1", "g6.12xlarge", m) for m in ("on_demand", "spot"))
    dear_od = max(first_od, _price("aws", "us-east-1", "g5.12xlarge"))
    dear_spot = max(first_spot, _price("aws", "us-east-1", "g5.12xlarge", "spot"))
    # 6 nodes: base 2 on-demand, 25% of the 4 above (1) on-demand, 3 spot; 10 nodes: 2 + 2 on-demand, 6 spot.
    # On-demand capacity launches the first override; spot may land on any, so it is priced at the dearest.
    assert dear_spot > first_spot
    assert line.expected == pytest.approx((3 * first_od + 3 * dear_spot) * H)
    assert line.ceiling == pytest.approx((4 * dear_od + 6 * dear_spot) * H)


@pytest.mark.parametrize(("base", "pct", "nodes", "on_demand"), [
    (0, 100, 5, 5), (0, 0, 5, 0), (2, 0, 5, 2), (1, 50, 4, 3), (0, 30, 10, 3), (10, 50, 4, 4)])
def test_capacity_split_rounds_the_on_demand_share_up(base: int, pct: int, nodes: int, on_demand: int) -> None:
    assert CapacitySplit(base, float(pct)).on_demand_nodes(nodes) == on_demand


def test_asg_whose_launch_template_is_not_in_the_graph_cannot_be_priced() -> None:
    line = _compute([_asg(None, launchTemplate={"id": "lt-0feedbeef", "version": "3"})], "gpu-asg")
    assert line.expected is None and line.ceiling is None
    assert line.unknown_reason == "launch template lt-0feedbeef is not in the resource graph, so its instance type " \
        "is unknown"


def test_ec2_instance_is_priced_and_spot_market_options_are_read() -> None:
    inputs = {"instanceType": "g6e.xlarge", "ami": "ami-1", "availabilityZone": "us-west-2b",
              "rootBlockDevice": {"volumeSize": 200, "volumeType": "gp3"}}
    instance = res("aws:ec2/instance:Instance", "box", inputs)
    report = cost_resources([instance])  # region from the availability zone
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    (volumes,) = [ln for ln in report.lines if ln.item == "volumes"]
    assert compute.ceiling == pytest.approx(_price("aws", "us-west-2", "g6e.xlarge") * H)
    assert volumes.ceiling == pytest.approx(200 * GP3)
    spot = res("aws:ec2/instance:Instance", "box", {**inputs, "instanceMarketOptions": {"marketType": "spot"}})
    assert _compute([spot], "box").ceiling == pytest.approx(_price("aws", "us-west-2", "g6e.xlarge", "spot") * H)


def test_ec2_instance_from_a_launch_template() -> None:
    lt = _template(instanceType="g6.xlarge")
    instance = res("aws:ec2/instance:Instance", "box", {"launchTemplate": {"id": WIRE_UNKNOWN}}, deps=(lt.urn,))
    assert _compute([lt, instance], "box").ceiling == pytest.approx(_price("aws", "us-east-1", "g6.xlarge") * H)


def test_ec2_fleet_splits_target_capacity() -> None:
    lt = _template(instanceType="g5.xlarge")
    fleet = res("aws:ec2/fleet:Fleet", "fleet", {
        "launchTemplateConfigs": [{"launchTemplateSpecification": {"launchTemplateId": WIRE_UNKNOWN,
                                                                   "version": "$Latest"}}],
        "targetCapacitySpecification": {"totalTargetCapacity": 8, "defaultTargetCapacityType": "spot",
                                        "onDemandTargetCapacity": 2},
    }, deps=(lt.urn,))
    line = _compute([lt, fleet], "fleet")
    assert line.ceiling == pytest.approx(
        (2 * _price("aws", "us-east-1", "g5.xlarge") + 6 * _price("aws", "us-east-1", "g5.xlarge", "spot")) * H)


def test_spot_fleet_request_with_launch_specifications() -> None:
    fleet = res("aws:ec2/spotFleetRequest:SpotFleetRequest", "spot", {
        "iamFleetRole": "arn:aws:iam::1:role/fleet", "targetCapacity": 4,
        "launchSpecifications": [{"instanceType": "g5.xlarge", "ami": "ami-1", "availabilityZone": "us-east-2a"}],
    })
    line = _compute([fleet], "spot", {})
    assert line.ceiling == pytest.approx(4 * _price("aws", "us-east-2", "g5.xlarge", "spot") * H)


def test_sagemaker_endpoint_counts_accelerators_but_cannot_be_priced() -> None:
    config = res("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "endpoint", {
        "productionVariants": [{"variantName": "AllTraffic", "modelName": "m", "instanceType": "ml.p4d.24xlarge",
                                "initialInstanceCount": 2}]})
    report = cost_resources([config], stack_config={"aws:region": "us-east-1"})
    (group,) = report.node_groups
    assert (group.accelerator, group.accelerators_per_node, group.nodes_max) == ("A100-40GB", 8, 2)
    assert report.unpriced_accelerators == (group,)
    assert group.problem is not None and "SageMaker hosting prices (ml.p4d.24xlarge)" in group.problem


def test_aws_native_resources_are_priced_like_classic_ones() -> None:
    lt = res("aws-native:ec2:LaunchTemplate", "lt", {"launchTemplateData": {
        "instanceType": "g6e.xlarge",
        "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100, "volumeType": "gp3"}}]}})
    asg = res("aws-native:autoscaling:AutoScalingGroup", "asg", {
        "minSize": "1", "maxSize": "4", "desiredCapacity": "2",
        "launchTemplate": {"launchTemplateId": WIRE_UNKNOWN, "version": "1"}}, deps=(lt.urn,))
    nodegroup = res("aws-native:eks:Nodegroup", "ng", {
        "clusterName": "c", "nodeRole": "r", "subnets": ["s"], "instanceTypes": ["g5.xlarge"],
        "capacityType": "SPOT", "scalingConfig": {"minSize": 0, "desiredSize": 1, "maxSize": 3}})
    instance = res("aws-native:ec2:Instance", "box", {"instanceType": "g5.xlarge", "imageId": "ami-1"})
    graph = [lt, asg, nodegroup, instance]
    assert _compute(graph, "asg").ceiling == pytest.approx(4 * _price("aws", "us-east-1", "g6e.xlarge") * H)
    assert _compute(graph, "ng").ceiling == pytest.approx(3 * _price("aws", "us-east-1", "g5.xlarge", "spot") * H)
    assert _compute(graph, "box").ceiling == pytest.approx(_price("aws", "us-east-1", "g5.xlarge") * H)


@pytest.mark.parametrize(("instance_type", "region", "reason"), [
    ("x9.bogus", "us-east-1", "x9.bogus is not an instance type of the bundled catalog (aws)"),
    ("p5.48xlarge", "af-south-1", "p5.48xlarge has no bundled price in af-south-1 (the catalog prices it in "),
])
def test_unknown_type_or_region_is_unpriced_never_zero(instance_type: str, region: str, reason: str) -> None:
    lt = _template(instanceType=instance_type)
    report = cost_resources([lt, _asg(lt)], stack_config={"aws:region": region})
    (line,) = [ln for ln in report.lines if ln.item == "compute"]
    assert line.expected is None and line.ceiling is None and line.unknown_reason is not None
    assert line.unknown_reason.startswith(reason)
    assert [g.resource.name for g in report.unpriced_accelerators] == ["gpu-asg"]


def test_eks_node_group_with_bogus_type_is_not_priced() -> None:
    group = res("aws:eks/nodeGroup:NodeGroup", "ng", {
        "instanceTypes": ["x9.bogus"], "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 2}})
    report = cost_resources([group], stack_config={"aws:region": "us-east-1"})
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    assert compute.expected is None and report.unpriced_accelerators[0].resource.name == "ng"
    assert report.unpriced_accelerators[0].is_gpu is None  # unknown type: may run accelerators


def test_cpu_only_groups_are_not_counted_as_unpriced_accelerators() -> None:
    lt = _template(instanceType="m7i.2xlarge")
    report = cost_resources([lt, _asg(lt)], stack_config={"aws:region": "us-east-1"})
    assert report.unpriced_accelerators == ()
    assert report.node_groups[0].is_gpu is False


# -- GCP ------------------------------------------------------------------------------------------------


def _gce(**inputs: Any) -> Resource:
    base: dict[str, Any] = {
        "machineType": "a3-highgpu-8g", "zone": "us-central1-a",
        "guestAccelerators": [{"type": "nvidia-h100-80gb", "count": 8}],
        "bootDisk": {"initializeParams": {"size": 300, "type": "pd-balanced"}},
        "scheduling": {"onHostMaintenance": "TERMINATE"},
    }
    base.update(inputs)
    return res("gcp:compute/instance:Instance", "vm", base)


def test_gce_instance_with_eight_h100_is_priced() -> None:
    report = cost_resources([_gce()])
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    (volumes,) = [ln for ln in report.lines if ln.item == "volumes"]
    assert compute.ceiling == pytest.approx(_price("gcp", "us-central1", "a3-highgpu-8g") * H)
    assert volumes.ceiling == pytest.approx(300 * PD)
    (group,) = report.node_groups
    assert (group.accelerator, group.accelerators_per_node) == ("H100", 8)


@pytest.mark.parametrize("scheduling", [{"provisioningModel": "SPOT"}, {"preemptible": True}])
def test_gce_spot_and_preemptible_are_priced_spot(scheduling: dict[str, Any]) -> None:
    line = _compute([_gce(machineType="g2-standard-8", guestAccelerators=[], scheduling=scheduling)], "vm", {})
    assert line.ceiling == pytest.approx(_price("gcp", "us-central1", "g2-standard-8", "spot") * H)


def test_gce_n1_with_attached_gpus_runs_accelerators_but_is_not_in_the_catalog() -> None:
    report = cost_resources([_gce(machineType="n1-standard-8", guestAccelerators=[{"type": "nvidia-l4",
                                                                                   "count": 1}])])
    (group,) = report.unpriced_accelerators
    assert group.is_gpu is True and group.accelerator == "L4"


def _mig(regional: bool = False, **inputs: Any) -> list[Resource]:
    template = res("gcp:compute/instanceTemplate:InstanceTemplate", "tpl", {
        "machineType": "g2-standard-8", "guestAccelerators": [{"type": "nvidia-l4", "count": 1}],
        "disks": [{"boot": True, "diskSizeGb": 200, "diskType": "pd-balanced"}],
        "scheduling": {"provisioningModel": "STANDARD"}})
    kind = ("gcp:compute/regionInstanceGroupManager:RegionInstanceGroupManager" if regional
            else "gcp:compute/instanceGroupManager:InstanceGroupManager")
    where = {"region": "us-east4", "distributionPolicyZones": ["us-east4-a", "us-east4-b", "us-east4-c"]} \
        if regional else {"zone": "us-east4-a"}
    mig = res(kind, "mig", {"baseInstanceName": "gpu", "targetSize": 3,
                            "versions": [{"instanceTemplate": WIRE_UNKNOWN}], **where, **inputs},
              deps=(template.urn,))
    return [template, mig]


@pytest.mark.parametrize("regional", [False, True], ids=["zonal", "regional"])
def test_managed_instance_group_prices_target_size(regional: bool) -> None:
    graph = _mig(regional)
    report = cost_resources(graph)
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    (volumes,) = [ln for ln in report.lines if ln.item == "volumes"]
    assert compute.ceiling == pytest.approx(3 * _price("gcp", "us-east4", "g2-standard-8") * H)
    assert volumes.ceiling == pytest.approx(3 * 200 * PD)


def test_managed_instance_group_autoscaler_max_bounds_the_ceiling() -> None:
    graph = _mig()
    scaler = res("gcp:compute/autoscaler:Autoscaler", "scaler", {
        "zone": "us-east4-a", "target": WIRE_UNKNOWN,
        "autoscalingPolicy": {"minReplicas": 2, "maxReplicas": 9}}, deps=(graph[1].urn,))
    line = _compute([*graph, scaler], "mig", {})
    hourly = _price("gcp", "us-east4", "g2-standard-8")
    assert line.expected == pytest.approx(3 * hourly * H) and line.ceiling == pytest.approx(9 * hourly * H)


def test_managed_instance_group_without_its_template_cannot_be_priced() -> None:
    _, mig = _mig()
    orphan = res(mig.type, mig.name, {**mig.inputs, "versions": [
        {"instanceTemplate": "projects/p/global/instanceTemplates/gpu-tpl"}]})
    line = _compute([orphan], "mig", {})
    assert line.unknown_reason == "instance template gpu-tpl is not in the resource graph, so its machine type is " \
        "unknown"


def _pool(**inputs: Any) -> Resource:
    base: dict[str, Any] = {
        "cluster": "c", "location": "us-central1",
        "nodeLocations": ["us-central1-a", "us-central1-b", "us-central1-c"],
        "nodeConfig": {"machineType": "g2-standard-4", "diskSizeGb": 100,
                       "guestAccelerators": [{"type": "nvidia-l4", "count": 1}]},
    }
    base.update(inputs)
    return res("gcp:container/nodePool:NodePool", "pool", base)


@pytest.mark.parametrize(("inputs", "expected", "ceiling"), [
    ({"nodeCount": 1}, 3, 3),  # per zone, three zones
    ({"autoscaling": {"minNodeCount": 1, "maxNodeCount": 2}, "initialNodeCount": 1}, 3, 6),  # per zone
    ({"autoscaling": {"totalMinNodeCount": 3, "totalMaxNodeCount": 5}, "initialNodeCount": 1}, 3, 5),  # totals
    ({"autoscaling": {"totalMinNodeCount": 0, "totalMaxNodeCount": 2}, "initialNodeCount": 0}, 0, 2),
], ids=["node-count", "per-zone-autoscaling", "total-autoscaling", "burst-from-zero"])
def test_gke_multi_zone_counts_are_per_zone_unless_total(inputs: dict[str, Any], expected: int,
                                                          ceiling: int) -> None:
    line = _compute([_pool(**inputs)], "pool", {})
    hourly = _price("gcp", "us-central1", "g2-standard-4")
    assert line.expected == pytest.approx(expected * hourly * H)
    assert line.ceiling == pytest.approx(ceiling * hourly * H)


def test_vertex_dedicated_resources_count_accelerators_but_cannot_be_priced() -> None:
    deployment = res("gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment", "vx", {
        "location": "us-central1", "publisherModelName": "publishers/meta/models/llama3",
        "deployConfig": {"dedicatedResources": {
            "machineSpec": {"machineType": "g2-standard-12", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1},
            "minReplicaCount": 1, "maxReplicaCount": 3}}})
    report = cost_resources([deployment])
    (group,) = report.unpriced_accelerators
    assert (group.accelerator, group.nodes_max) == ("L4", 3)
    assert group.problem is not None and "Vertex" in group.problem


def test_unknown_machine_type_during_preview_is_unpriced_not_zero() -> None:
    (vm,) = as_resources([_gce(machineType=WIRE_UNKNOWN)])
    report = cost_resources([vm])
    (group,) = report.unpriced_accelerators
    assert group.preview_unknown and report.expected == pytest.approx(300 * PD)


def test_eks_node_group_takes_its_instance_type_from_its_launch_template() -> None:
    lt = _template(instanceType="g6e.xlarge")
    group = res("aws:eks/nodeGroup:NodeGroup", "ng", {
        "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 3},
        "launchTemplate": {"id": WIRE_UNKNOWN, "version": "1"}}, deps=(lt.urn,))
    assert _compute([lt, group], "ng").ceiling == pytest.approx(3 * _price("aws", "us-east-1", "g6e.xlarge") * H)


def test_asg_with_a_launch_configuration_bidding_spot() -> None:
    lc = res("aws:ec2/launchConfiguration:LaunchConfiguration", "lc", {
        "imageId": "ami-1", "instanceType": "g4dn.xlarge", "spotPrice": "0.30",
        "rootBlockDevice": {"volumeSize": 100, "volumeType": "gp3"}})
    asg = res("aws:autoscaling/group:Group", "asg", {"minSize": 0, "maxSize": 4, "desiredCapacity": 2,
                                                    "launchConfiguration": WIRE_UNKNOWN}, deps=(lc.urn,))
    (asg,) = as_resources([asg])
    line = _compute([lc, asg], "asg")
    spot = _price("aws", "us-east-1", "g4dn.xlarge", "spot")
    assert line.expected == pytest.approx(2 * spot * H) and line.ceiling == pytest.approx(4 * spot * H)


# -- hostile inputs ---------------------------------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 100) | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["p5.48xlarge", "x9.bogus", "spot", "SPOT", "us-east-1a", WIRE_UNKNOWN, "", "ml.g5.xlarge"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["instanceType", "machineType", "minSize", "maxSize", "desiredCapacity", "launchTemplate",
                         "mixedInstancesPolicy", "overrides", "instancesDistribution", "scalingConfig",
                         "productionVariants", "guestAccelerators", "scheduling", "autoscaling", "nodeConfig",
                         "targetSize", "tags", "dedicatedResources", "machineSpec", "zone", "key", "value"]),
        inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(COMPUTE_TYPES)), inputs=st.dictionaries(st.text(max_size=25), _JSON, max_size=6)
       | _JSON.filter(lambda v: isinstance(v, dict)))
def test_any_inputs_price_or_explain_never_raise(kind: str, inputs: dict[str, Any]) -> None:
    lt = _template()
    r = res(kind, "thing", inputs, deps=(lt.urn,))
    report = cost_resources([lt, r], stack_config={"aws:region": "us-east-1", "gcp:region": "us-central1"})
    for line in report.lines:
        assert (line.expected is None) == (line.unknown_reason is not None), line


def test_groups_that_name_no_type_run_the_providers_default_which_has_no_accelerators() -> None:
    eks = res("aws:eks/nodeGroup:NodeGroup", "ng", {"scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 1}})
    gke = res("gcp:container/nodePool:NodePool", "pool", {"location": "us-central1-a", "nodeCount": 1})
    for r, default in ((eks, "t3.medium"), (gke, "e2-medium")):
        report = cost_resources([r], stack_config={"aws:region": "us-east-1"})
        (group,) = report.node_groups
        assert group.instance_type == default and group.is_gpu is False
        assert report.unpriced_accelerators == ()


def test_gp3_throughput_and_iops_above_the_free_baseline_are_priced_per_node() -> None:
    mappings = [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 170, "volumeType": "gp3", "throughput": 300,
                                                    "iops": 4000}}]
    lt = _template(instanceType="g6e.xlarge", blockDeviceMappings=mappings)
    report = cost_resources([lt, _asg(lt, minSize=1, desiredCapacity=1, maxSize=2)],
                            stack_config={"aws:region": "us-east-1"})
    (volumes,) = [ln for ln in report.lines if ln.item == "volumes"]
    prices = platform_prices("aws")
    per_node = (170 * GP3 + (300 - 125) * prices.volume_throughput_per_mibps_month
                + (4000 - 3000) * prices.volume_iops_per_month)
    assert volumes.expected == pytest.approx(per_node) and volumes.ceiling == pytest.approx(2 * per_node)
