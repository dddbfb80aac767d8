"""The cost engine against the bundled catalog: every expectation is derived from catalog lookups."""

from __future__ import annotations

from dataclasses import replace

import pytest

from servestack.catalog import Offering, load_catalog
from servestack.catalog.platform import HOURS_PER_MONTH, platform_monthly_usd, platform_prices
from servestack.costing import UNKNOWN, Resource, cost_resources
from servestack.costing.resources import normalize
from tests.costing.graphs import Plan, aws_stack, gcp_stack, res

H = HOURS_PER_MONTH
WIRE_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _offering(cloud: str, region: str, instance_type: str) -> Offering:
    found = load_catalog().find_offering(cloud, region, instance_type)
    assert found is not None, (cloud, region, instance_type)
    return found


def _plan_ceiling(plan: Plan) -> float:
    """The plan's monthly_usd_ceiling as the contract defines it (GPU nodes at max + platform at nodesPeak)."""
    off = _offering(plan.cloud, plan.region, plan.instance_type)
    base, burst = off.price(plan.pricing_base), off.price(plan.pricing_burst)
    assert base is not None and burst is not None
    gpu = (plan.nodes_min * base + (plan.nodes_peak - plan.nodes_min) * burst) * H
    return float(gpu + platform_monthly_usd(plan.cloud, plan.zones, plan.nodes_peak, plan.root_gib))


def _swap(graph: list[Resource], name: str, **inputs: object) -> list[Resource]:
    return [replace(r, inputs={**r.inputs, **inputs}) if r.name == name else r for r in graph]


@pytest.mark.parametrize(
    "plan",
    [
        Plan(),  # on-demand floor, spot burst
        Plan(pricing_base="1y", pricing_burst="on_demand", instance_type="g5.12xlarge", accelerators_per_node=4),
        Plan(pricing_base="3y", nodes_min=3, nodes_avg=3, nodes_peak=3, zones=3),  # no burst group
    ],
    ids=["ondemand-spot", "1y-ondemand", "3y-fixed"],
)
def test_aws_ceiling_equals_plan_ceiling(plan: Plan) -> None:
    # The plan prices commitments as bought; the stack says so once they are.
    config = {"aws:region": plan.region, "servestack:commitmentPurchased": "true"}
    report = cost_resources(aws_stack(plan), stack_config=config)
    assert report.ceiling == pytest.approx(_plan_ceiling(plan), abs=1e-6)
    assert not [u for u in report.unpriced_capacity if u.item in ("compute", "volumes", "nat")]


def test_gcp_ceiling_equals_plan_ceiling() -> None:
    plan = Plan(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
    report = cost_resources(gcp_stack(plan))
    assert report.ceiling == pytest.approx(_plan_ceiling(plan), abs=1e-6)


def test_expected_prices_desired_counts() -> None:
    plan = Plan()
    off = _offering("aws", plan.region, plan.instance_type)
    report = cost_resources(aws_stack(plan), stack_config={"aws:region": plan.region})
    (burst,) = [ln for ln in report.lines if ln.name == "gpu-burst" and ln.item == "compute"]
    assert off.price_spot is not None
    assert burst.expected == pytest.approx((plan.nodes_avg - plan.nodes_min) * off.price_spot * H)
    assert burst.ceiling == pytest.approx((plan.nodes_peak - plan.nodes_min) * off.price_spot * H)
    (volumes,) = [ln for ln in report.lines if ln.name == "gpu-burst" and ln.item == "volumes"]
    assert volumes.ceiling == pytest.approx(
        (plan.nodes_peak - plan.nodes_min) * plan.root_gib * platform_prices("aws").volume_per_gib_month)


def test_commitment_tag_prices_on_demand_capacity_at_committed_rate_once_bought() -> None:
    plan = Plan(pricing_base="3y")
    off = _offering("aws", plan.region, plan.instance_type)
    report = cost_resources(aws_stack(plan), stack_config={"aws:region": plan.region,
                                                           "servestack:commitmentPurchased": True})
    (base,) = [ln for ln in report.lines if ln.name == "gpu-base" and ln.item == "compute"]
    assert off.price_3y is not None
    assert base.ceiling == pytest.approx(plan.nodes_min * off.price_3y * H)
    assert "priced as bought" in base.detail


@pytest.mark.parametrize("flag", [None, False, "false", "yes"], ids=["absent", "false", "string-false", "not-bool"])
def test_commitment_not_marked_bought_is_priced_on_demand_with_a_note(flag: object) -> None:
    plan = Plan(pricing_base="1y")
    off = _offering("aws", plan.region, plan.instance_type)
    config: dict[str, object] = {"aws:region": plan.region}
    if flag is not None:
        config["servestack:commitmentPurchased"] = flag
    report = cost_resources(aws_stack(plan), stack_config=config)
    (base,) = [ln for ln in report.lines if ln.name == "gpu-base" and ln.item == "compute"]
    assert off.price_on_demand is not None
    assert base.ceiling == pytest.approx(plan.nodes_min * off.price_on_demand * H)
    assert "servestack:commitmentPurchased is not true" in base.detail
    assert any("gpu-base" in note and "priced on-demand" in note for note in report.notes)


def test_spot_tag_on_on_demand_capacity_is_priced_on_demand() -> None:
    plan = Plan()
    graph = _swap(aws_stack(plan), "gpu-base", tags={"servestack-pricing": "spot"})
    off = _offering("aws", plan.region, plan.instance_type)
    report = cost_resources(graph, stack_config={"aws:region": plan.region})
    (base,) = [ln for ln in report.lines if ln.name == "gpu-base" and ln.item == "compute"]
    assert off.price_on_demand is not None
    assert base.ceiling == pytest.approx(plan.nodes_min * off.price_on_demand * H)
    assert "capacity is on-demand" in base.detail


def test_unknown_instance_type_is_unknown_not_zero() -> None:
    graph = _swap(aws_stack(), "gpu-base", instanceTypes=["x9z.mega"])
    report = cost_resources(graph, stack_config={"aws:region": "us-east-1"})
    (base,) = [ln for ln in report.lines if ln.name == "gpu-base" and ln.item == "compute"]
    assert base.expected is None and base.ceiling is None
    assert base.unknown_reason == "x9z.mega is not an instance type of the bundled catalog (aws)"
    assert base in report.unknowns and base in report.unpriced_capacity


def test_unknown_region_is_reported() -> None:
    graph = [r for r in aws_stack() if r.type != "aws:ec2/subnet:Subnet"]
    report = cost_resources(graph)
    (base,) = [ln for ln in report.lines if ln.name == "gpu-base" and ln.item == "compute"]
    assert base.unknown_reason is not None and "region unknown" in base.unknown_reason


def test_region_inferred_from_subnet_zones() -> None:
    plan = Plan(region="us-west-2")
    with_config = cost_resources(aws_stack(plan), stack_config={"aws:region": "us-west-2"})
    inferred = cost_resources(aws_stack(plan))
    assert inferred.ceiling == pytest.approx(with_config.ceiling)


def test_explicit_provider_region_wins() -> None:
    class Rec:
        def __init__(self, urn: str, type_: str, name: str, inputs: dict[str, object], provider: str | None = None):
            self.urn, self.type, self.name, self.inputs, self.provider = urn, type_, name, inputs, provider
            self.dependencies: list[str] = []

    prov_urn = "urn:pulumi:prod::servestack::pulumi:providers:aws::west"
    group = res("aws:eks/nodeGroup:NodeGroup", "g", {
        "instanceTypes": ["g6e.xlarge"], "capacityType": "ON_DEMAND", "diskSize": 20,
        "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 1}})
    items = [Rec(prov_urn, "pulumi:providers:aws", "west", {"region": "us-west-2"}),
             Rec(group.urn, group.type, group.name, group.inputs, provider=f"{prov_urn}::abc")]
    report = cost_resources(items, stack_config={"aws:region": "us-east-1"})
    off = _offering("aws", "us-west-2", "g6e.xlarge")
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    assert off.price_on_demand is not None
    assert compute.ceiling == pytest.approx(off.price_on_demand * H)


@pytest.mark.parametrize("value", [UNKNOWN, "04da6b54-80e4-46f7-96ec-b56ff0331ba9"], ids=["object", "wire-sentinel"])
def test_preview_unknown_instance_type(value: object) -> None:
    graph = _swap(aws_stack(), "gpu-base", instanceTypes=value)
    report = cost_resources(graph, stack_config={"aws:region": "us-east-1"})
    (base,) = [ln for ln in report.lines if ln.name == "gpu-base" and ln.item == "compute"]
    assert base.ceiling is None and base.preview_unknown
    assert base.unknown_reason == "instance type unknown during preview"


def test_usage_priced_and_unpriced_extras() -> None:
    report = cost_resources(aws_stack(), stack_config={"aws:region": "us-east-1"})
    registry = [ln for ln in report.unknowns if ln.item == "registry"]
    assert registry and all(ln.usage_priced for ln in registry)
    assert not [ln for ln in report.unknowns if ln.item == "public-ip"]
    eips = [ln for ln in report.lines if ln.item == "public-ip"]
    # One Elastic IP per NAT gateway, each a public IPv4 address billed by the hour.
    assert len(eips) == 2
    assert all(ln.ceiling == pytest.approx(platform_prices("aws").public_ipv4_per_hour * 730) for ln in eips)


def test_node_group_without_launch_template_uses_eks_default_disk() -> None:
    group = res("aws:eks/nodeGroup:NodeGroup", "g", {
        "instanceTypes": ["g6e.xlarge"], "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 2}})
    report = cost_resources([group], region="us-east-1")
    (vol,) = [ln for ln in report.lines if ln.item == "volumes"]
    assert vol.ceiling == pytest.approx(2 * 20 * platform_prices("aws").volume_per_gib_month)


def test_several_instance_types_ceiling_at_dearest() -> None:
    group = res("aws:eks/nodeGroup:NodeGroup", "g", {
        "instanceTypes": ["g6e.xlarge", "g6e.4xlarge"], "diskSize": 20,
        "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 1}})
    report = cost_resources([group], region="us-east-1")
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    cheap = _offering("aws", "us-east-1", "g6e.xlarge").price_on_demand
    dear = _offering("aws", "us-east-1", "g6e.4xlarge").price_on_demand
    assert cheap is not None and dear is not None
    assert compute.expected == pytest.approx(cheap * H)
    assert compute.ceiling == pytest.approx(dear * H)


def test_gke_per_zone_counts_multiply_by_zones() -> None:
    pool = res("gcp:container/nodePool:NodePool", "p", {
        "location": "us-central1", "nodeLocations": ["us-central1-a", "us-central1-b", "us-central1-c"],
        "nodeConfig": {"machineType": "g2-standard-8"}, "autoscaling": {"minNodeCount": 0, "maxNodeCount": 2},
        "initialNodeCount": 1})
    report = cost_resources([pool])
    (compute,) = [ln for ln in report.lines if ln.item == "compute"]
    price = _offering("gcp", "us-central1", "g2-standard-8").price_on_demand
    assert price is not None
    assert compute.expected == pytest.approx(3 * price * H)
    assert compute.ceiling == pytest.approx(6 * price * H)


def test_gke_regional_pool_per_zone_counts_without_locations_is_unknown() -> None:
    pool = res("gcp:container/nodePool:NodePool", "p", {
        "location": "us-central1", "nodeConfig": {"machineType": "g2-standard-8"},
        "autoscaling": {"minNodeCount": 0, "maxNodeCount": 2}})
    (compute, _vol) = cost_resources([pool]).lines
    assert compute.unknown_reason == "per-zone node counts in a regional pool without nodeLocations"


@pytest.mark.parametrize("locations", [[WIRE_UNKNOWN], WIRE_UNKNOWN], ids=["one-zone-unknown", "list-unknown"])
def test_gke_pool_zones_unknown_during_preview_is_a_preview_unknown(locations: object) -> None:
    pool = res("gcp:container/nodePool:NodePool", "p", {
        "location": "us-central1", "nodeLocations": locations, "nodeConfig": {"machineType": "g2-standard-8"},
        "autoscaling": {"minNodeCount": 0, "maxNodeCount": 2}})
    (compute, _vol) = cost_resources([pool]).lines
    assert compute.ceiling is None and compute.preview_unknown
    assert compute.unknown_reason == "node counts unknown during preview"


def test_gcp_nat_capped() -> None:
    plan = Plan(cloud="gcp", region="us-central1", instance_type="g2-standard-8", nodes_min=20, nodes_avg=30,
                nodes_peak=40)
    report = cost_resources(gcp_stack(plan))
    (nat,) = [ln for ln in report.lines if ln.item == "nat"]
    prices = platform_prices("gcp")
    assert prices.nat_max_per_hour is not None
    assert nat.ceiling == pytest.approx(prices.nat_max_per_hour * H)


def test_service_without_load_balancer_costs_nothing() -> None:
    graph = _swap(aws_stack(), "vllm", spec={"type": "ClusterIP"})
    assert not [ln for ln in cost_resources(graph, region="us-east-1").lines if ln.item == "load-balancer"]


def test_normalize_reads_policy_proxies() -> None:
    from pulumi_policy.proxy import unknown_checking_proxy

    raw = {"a": "3eeb2bf0-c639-47a8-9e75-3b44932eb421", "b": [1, "x"], "c": {"d": True}}
    assert normalize(unknown_checking_proxy(raw)) == {"a": UNKNOWN, "b": [1, "x"], "c": {"d": True}}


def test_report_dict_lists_unknowns() -> None:
    data = cost_resources(aws_stack(), region="us-east-1").as_dict()
    assert data["ceiling"] > 0
    assert {u["item"] for u in data["unknowns"]} == {"registry"}


@pytest.mark.parametrize(("service_type", "priced"), [(None, True), ("LoadBalancer", True), ("ClusterIP", False)])
def test_a_gateway_costs_a_load_balancer_unless_its_proxies_are_in_cluster(service_type: str | None,
                                                                          priced: bool) -> None:
    proxy_service = {} if service_type is None else {"envoyService": {"type": service_type}}
    graph = [
        res("kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy", "proxy", {
            "metadata": {"name": "edge", "namespace": "router"},
            "spec": {"provider": {"type": "Kubernetes", "kubernetes": proxy_service}}}),
        res("kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "class", {
            "metadata": {"name": "edge"},
            "spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller",
                     "parametersRef": {"group": "gateway.envoyproxy.io", "kind": "EnvoyProxy", "name": "edge",
                                       "namespace": "router"}}}),
        res("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gw", {
            "metadata": {"name": "edge", "namespace": "router"}, "spec": {"gatewayClassName": "edge"}}),
        # Another class's Gateway is priced whatever the EnvoyProxy above says.
        res("kubernetes:gateway.networking.k8s.io/v1:Gateway", "other", {
            "metadata": {"name": "other", "namespace": "router"}, "spec": {"gatewayClassName": "gke-l7-rilb"}}),
    ]
    report = cost_resources(graph, stack_config={"servestack:deployment": {"cloud": "aws"}})
    balancers = sorted(line.urn.rsplit("::", 1)[-1] for line in report.lines if line.item == "load-balancer")
    assert balancers == (["gw", "other"] if priced else ["other"])
