"""The rules relating replicas, nodes and zones: what the selector sizes always passes what the reader checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servestack.contract import shape


@settings(deadline=None)  # a collector pause in a long test session is not this code's time
@given(
    cloud=st.sampled_from(["aws", "gcp"]),
    floor=st.integers(1, 40),
    zones=st.integers(1, 3),
    accelerators=st.sampled_from([1, 2, 4, 8]),
    tp=st.sampled_from([1, 2, 4, 8]),
    nodes_per_replica=st.integers(1, 4),
    avg=st.integers(0, 200),
    extra=st.integers(0, 200),
)
def test_sized_counts_always_satisfy_every_rule(
    cloud: str, floor: int, zones: int, accelerators: int, tp: int, nodes_per_replica: int, avg: int, extra: int
) -> None:
    tp = accelerators if nodes_per_replica > 1 else min(tp, accelerators)
    per_node = shape.replicas_per_node(accelerators, tp, nodes_per_replica)
    c = shape.size_counts(cloud=cloud, floor=max(floor, zones), zones=zones, per_node=per_node,
                          nodes_per_replica=nodes_per_replica, needed_avg=avg, needed_peak=avg + extra)
    assert shape.counts_problem(cloud, zones, per_node, nodes_per_replica, c) is None
    assert c.replicas_min >= floor and c.replicas_peak >= avg + extra and c.nodes_min >= zones


def test_seventy_b_on_four_gpu_nodes_over_two_zones_fills_both_nodes() -> None:
    # The finding: TP2 on 4-GPU nodes, min_replicas 2 over 2 zones was planned as 2 replicas on 2 nodes, which
    # the program then refused. The floor now runs a replica on every GPU pair it pays for.
    c = shape.size_counts(cloud="aws", floor=2, zones=2, per_node=2, nodes_per_replica=1, needed_avg=3, needed_peak=5)
    assert (c.nodes_min, c.replicas_min) == (2, 4)
    assert (c.replicas_peak, c.nodes_peak) == (5, 3)


def test_gke_floor_is_whole_per_zone_pools() -> None:
    # GKE node pool sizes are per zone: 4 nodes cannot split over 3 zones, so the floor becomes 6.
    c = shape.size_counts(cloud="gcp", floor=4, zones=3, per_node=1, nodes_per_replica=1, needed_avg=4, needed_peak=7)
    assert c.nodes_min == 6 and c.nodes_min % 3 == 0
    aws = shape.size_counts(cloud="aws", floor=4, zones=3, per_node=1, nodes_per_replica=1, needed_avg=4,
                            needed_peak=7)
    assert aws.nodes_min == 4


def test_multi_node_replicas_stay_whole_per_zone() -> None:
    c = shape.size_counts(cloud="aws", floor=3, zones=2, per_node=1, nodes_per_replica=2, needed_avg=3, needed_peak=3)
    assert c.replicas_min == 4 and c.nodes_min == 8


@pytest.mark.parametrize(("checkpoint", "throughput"), [(5.0, 125), (131.0, 575), (800.0, 1000)])
def test_volume_throughput_reads_the_checkpoint_in_minutes(checkpoint: float, throughput: int) -> None:
    assert shape.volume_throughput_mibps(checkpoint) == throughput
    iops = shape.volume_iops(throughput)
    assert 3000 <= iops <= 16000 and throughput <= iops * 0.25


def test_startup_budget_grows_with_the_checkpoint_and_covers_a_70b_cold_start() -> None:
    small = shape.startup_budget_s(15.0, shape.volume_throughput_mibps(15.0))
    big = shape.startup_budget_s(131.0, shape.volume_throughput_mibps(131.0))
    assert small < big
    # Pulumi's Kubernetes provider gives up after 10 minutes by default; a 70B cold start needs far longer.
    assert big + shape.node_launch_s(8) > 1800


def test_pod_requests_share_the_node() -> None:
    assert shape.pod_cpu_millicores(48, 1) > shape.pod_cpu_millicores(48, 2) * 1.9
    assert shape.pod_memory_gib(384, 4) * 4 <= 384


def test_efa_only_for_multi_node_replicas_on_aws() -> None:
    assert shape.efa_interfaces("aws", "p5.48xlarge", 2) == 32
    assert shape.efa_interfaces("aws", "p5.48xlarge", 1) == 0
    assert shape.efa_interfaces("gcp", "a3-megagpu-8g", 2) == 0
