"""The one node-shape pricing function against figures worked out by hand, and the engine and selector on it."""

from __future__ import annotations

import pytest

from servestack.catalog import Offering, load_catalog
from servestack.catalog.pricing import NodeVolume, billed_mode, hourly_usd, nodes_monthly_usd, price_node_shape
from servestack.costing import cost_resources
from tests.costing.graphs import res


def _offering(cloud: str = "aws", *, spot: float | None = 4.0) -> Offering:
    """A made-up offering with round prices: 10 USD/h on-demand, 4 spot, 7 committed 1y, 5 committed 3y."""
    return Offering(
        cloud=cloud, region="us-east-1" if cloud == "aws" else "us-central1", zones=(), instance_type="x.large",
        accelerator="L4", accelerators_per_node=1, accelerator_memory_gib=24, vcpus=8, memory_gib=32,
        local_nvme_gib=0, multi_node_network=None, network_gbps=10, price_on_demand=10.0, price_spot=spot,
        price_1y=7.0, price_3y=5.0, source="test", as_of="2026-01-01",
    )


def test_on_demand() -> None:
    cost = price_node_shape(_offering(), "on_demand", 3)
    assert cost is not None
    assert cost.compute == 21900.0  # 3 nodes x 10 USD/h x 730 h
    assert cost.volumes == 0.0


def test_spot() -> None:
    cost = price_node_shape(_offering(), "spot", 3)
    assert cost is not None and cost.compute == 8760.0  # 3 x 4 x 730


def test_commitment_bought_bills_the_committed_rate_for_the_floor_and_burst_on_demand() -> None:
    cost = price_node_shape(_offering(), "1y", 2, burst_mode="on_demand", burst_nodes=1)
    assert cost is not None and cost.compute == 17520.0  # (2 x 7 + 1 x 10) x 730


def test_commitment_not_bought_bills_on_demand() -> None:
    cost = price_node_shape(_offering(), "3y", 2, commitment_purchased=False, burst_mode="spot", burst_nodes=2)
    assert cost is not None and cost.compute == 20440.0  # (2 x 10 + 2 x 4) x 730
    assert billed_mode("3y", False) == "on_demand"
    assert billed_mode("3y", True) == "3y"
    assert billed_mode("spot", False) == "spot"
    assert hourly_usd(_offering(), "1y", commitment_purchased=False) == 10.0


def test_gp3_extras_above_the_free_baseline_and_hours() -> None:
    volume = NodeVolume(gib=200, throughput_mibps=250, iops=4000)
    cost = price_node_shape(_offering(), "on_demand", 3, hours=365, volume=volume)
    assert cost is not None
    assert cost.compute == 10950.0  # 3 x 10 x 365
    # Per node and month: 200 GiB x 0.08 + (250 - 125) MiB/s x 0.04 + (4000 - 3000) IOPS x 0.005 = 26 USD;
    # 3 nodes for half a month (365 of 730 h).
    assert cost.volumes == pytest.approx(39.0, abs=1e-9)
    assert cost.total == pytest.approx(10989.0, abs=1e-9)


def test_gcp_per_zone_pool_counts_every_zone_and_bills_no_disk_extras() -> None:
    # 2 nodes per zone over 3 zones; pd-balanced has no provisioned throughput/IOPS to bill.
    cost = price_node_shape(_offering("gcp"), "on_demand", 2 * 3, volume=NodeVolume(100, 250, 4000))
    assert cost is not None
    assert cost.compute == 43800.0  # 6 x 10 x 730
    assert cost.volumes == pytest.approx(60.0, abs=1e-9)  # 6 x 100 GiB x 0.10


def test_missing_price_is_none_not_zero() -> None:
    assert price_node_shape(_offering(spot=None), "spot", 1) is None
    assert price_node_shape(_offering(spot=None), "on_demand", 1, burst_mode="spot", burst_nodes=1) is None
    with pytest.raises(ValueError, match="burst_mode"):
        price_node_shape(_offering(), "on_demand", 1, burst_nodes=1)


def test_uniform_group_is_the_split_with_no_rest_to_the_bit() -> None:
    # The engine prices a uniform group with no rest, the selector a floor with a burst: one formula.
    for hourly in (0.7375, 1.2106, 98.32, 3.06):
        for nodes in (1, 3, 7, 40):
            assert nodes_monthly_usd(hourly, nodes) == hourly * nodes * 730.0


def test_engine_prices_a_gke_per_zone_pool_with_the_function() -> None:
    pool = res("gcp:container/nodePool:NodePool", "p", {
        "location": "us-central1", "nodeLocations": ["us-central1-a", "us-central1-b", "us-central1-c"],
        "nodeConfig": {"machineType": "g2-standard-8"}, "autoscaling": {"minNodeCount": 1, "maxNodeCount": 2},
        "initialNodeCount": 1})
    (compute,) = [ln for ln in cost_resources([pool]).lines if ln.item == "compute"]
    offering = load_catalog().find_offering("gcp", "us-central1", "g2-standard-8")
    assert offering is not None
    expected, ceiling = price_node_shape(offering, "on_demand", 3), price_node_shape(offering, "on_demand", 6)
    assert expected is not None and ceiling is not None
    assert compute.expected == expected.compute
    assert compute.ceiling == ceiling.compute
