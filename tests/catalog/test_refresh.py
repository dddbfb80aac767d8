"""The refresher: how snapshot rows and rules become price rows."""

from __future__ import annotations

from typing import Any

import pytest

from servestack.catalog.refresh import build_prices

RULES: dict[str, Any] = {
    "sources": {"aws_snapshot": "aws-snap", "gcp_snapshot": "gcp-snap"},
    "commitment": {"aws": {"1y": 0.6, "3y": 0.4, "source": "sp"}, "gcp": {"1y": 0.63, "3y": 0.45, "source": "cud"}},
    "price_cuts": [{"cloud": "aws", "instance_type": "p4d.24xlarge", "factor": 0.5, "source": "cut"}],
    "derived": [{"cloud": "aws", "instance_type": "g6.xlarge", "from": "g6.2xlarge", "ratio": 0.8, "source": "ratio"}],
    "gcp_gpu": {"a3-highgpu-8g": ["H100", 8]},
    "gcp_anomaly_ratio": 0.6,
    "manual": [{"cloud": "aws", "instance_type": "p4d.24xlarge", "region": "us-west-2", "on_demand": 20.0,
                "spot": None, "source": "list page"}],
}
TYPES = [
    {"cloud": "aws", "instance_type": t, "vcpus": 8, "memory_gib": 32, "accelerators_per_node": 1}
    for t in ("g6.2xlarge", "g6.xlarge", "p4d.24xlarge")
] + [{"cloud": "gcp", "instance_type": "a3-highgpu-8g", "vcpus": 208, "memory_gib": 1872, "accelerators_per_node": 8}]


def _aws(itype: str, region: str, zone: str, price: str, spot: str) -> dict[str, str]:
    return {"InstanceType": itype, "Region": region, "AvailabilityZone": zone, "Price": price, "SpotPrice": spot}


def _gcp(itype: str, acc: str, count: str, zone: str, price: str, spot: str) -> dict[str, str]:
    return {"InstanceType": itype, "AcceleratorName": acc, "AcceleratorCount": count,
            "Region": zone.rsplit("-", 1)[0], "AvailabilityZone": zone, "Price": price, "SpotPrice": spot}


@pytest.fixture
def rows() -> dict[tuple[str, str, str], dict[str, Any]]:
    aws = [
        _aws("g6.2xlarge", "us-east-1", "use1-az1", "1.0", "0.3"),
        _aws("g6.2xlarge", "us-east-1", "use1-az2", "1.0", "0.5"),
        _aws("g6.2xlarge", "us-east-1", "use1-az3", "1.0", ""),
        _aws("p4d.24xlarge", "us-east-1", "use1-az1", "32.0", "30.0"),
        _aws("p4d.24xlarge", "us-west-2", "usw2-az1", "32.0", "9.0"),
        _aws("m5.large", "us-east-1", "use1-az1", "0.1", "0.05"),
    ]
    gcp = [
        _gcp("a3-highgpu-8g", "", "", "us-east4-a", "9.0", "2.0"),
        _gcp("a3-highgpu-8g", "", "", "us-central1-a", "9.0", "2.0"),
        _gcp("", "H100", "8", "us-east4-a", "80.0", "16.0"),
        # Far below the same GPU elsewhere: treated as a non-list SKU and dropped.
        _gcp("", "H100", "8", "us-central1-a", "32.0", "16.0"),
    ]
    out = build_prices(TYPES, RULES, aws, gcp, "2030-01-01")
    return {(r["cloud"], r["region"], r["instance_type"]): r for r in out}


def test_aws_spot_is_zone_median_and_commitments_follow_on_demand(rows: dict[Any, dict[str, Any]]) -> None:
    g6 = rows[("aws", "us-east-1", "g6.2xlarge")]
    assert (g6["on_demand"], g6["spot"]) == (1.0, 0.4)
    assert (g6["committed_1y"], g6["committed_3y"]) == (0.6, 0.4)
    assert g6["zones"] == ["use1-az1", "use1-az2", "use1-az3"]
    assert ("aws", "us-east-1", "m5.large") not in rows


def test_derived_size_scales_on_demand_but_never_spot(rows: dict[Any, dict[str, Any]]) -> None:
    # Spot discounts do not scale with size (g6.12xlarge in ap-south-1 showed a ~90 % discount that way).
    small = rows[("aws", "us-east-1", "g6.xlarge")]
    assert (small["on_demand"], small["spot"]) == (0.8, None)
    assert "ratio" in small["source"] and "spot not derived" in small["source"]


def test_spot_leaves_out_undiscounted_zones_and_local_zones() -> None:
    aws = [
        _aws("p4d.24xlarge", "us-east-1", "use1-az1", "55.04", "55.04"),  # no discount that day
        _aws("p4d.24xlarge", "us-east-1", "use1-az2", "55.04", "18.0"),
        _aws("p4d.24xlarge", "us-east-1", "use1-az3", "55.04", "18.8"),
        _aws("p4d.24xlarge", "us-east-1", "use1-atl2-az1", "55.04", "1.0"),  # Local Zone
    ]
    (row,) = build_prices(TYPES, {**RULES, "price_cuts": [], "manual": []}, aws, [], "2030-01-01")
    assert row["spot"] == pytest.approx(18.4)
    assert row["spot_zones"] == ["use1-az2", "use1-az3"] and row["spot_as_of"] == "2030-01-01"
    assert "use1-atl2-az1" not in row["zones"]


def test_fallback_commitments_are_marked_as_estimates(rows: dict[Any, dict[str, Any]]) -> None:
    g6 = rows[("aws", "us-east-1", "g6.2xlarge")]
    assert g6["committed_1y_estimated"] is True and g6["committed_3y_estimated"] is True


def test_price_cut_applies_to_snapshot_rows_and_caps_spot(rows: dict[Any, dict[str, Any]]) -> None:
    p4d = rows[("aws", "us-east-1", "p4d.24xlarge")]
    assert p4d["on_demand"] == 16.0 and p4d["spot"] == 16.0
    # Hand-entered list prices are already current: no second cut.
    manual = rows[("aws", "us-west-2", "p4d.24xlarge")]
    assert (manual["on_demand"], manual["spot"], manual["source"].split(";")[0]) == (20.0, None, "list page")


def test_gcp_node_is_host_plus_gpus_and_anomalies_are_dropped(rows: dict[Any, dict[str, Any]]) -> None:
    a3 = rows[("gcp", "us-east4", "a3-highgpu-8g")]
    assert (a3["on_demand"], a3["spot"]) == (89.0, 18.0)
    assert a3["committed_3y"] == pytest.approx(89.0 * 0.45)
    assert ("gcp", "us-central1", "a3-highgpu-8g") not in rows


def test_family_commitment_rate_beats_the_fallback_and_longest_prefix_wins() -> None:
    rules = {**RULES, "commitment_families": [
        {"cloud": "gcp", "prefix": "a3-", "1y": 0.9, "3y": 0.8, "source": "a3 family"},
        {"cloud": "gcp", "prefix": "a3-highgpu-", "1y": 0.7, "3y": 0.44, "source": "a3 high rate"},
    ]}
    gcp = [_gcp("a3-highgpu-8g", "", "", "us-east4-a", "9.0", "2.0"),
           _gcp("", "H100", "8", "us-east4-a", "80.0", "16.0")]
    aws = [_aws("g6.2xlarge", "us-east-1", "use1-az1", "1.0", "0.3")]
    out = {r["instance_type"]: r for r in build_prices(TYPES, rules, aws, gcp, "2030-01-01")}
    a3, g6 = out["a3-highgpu-8g"], out["g6.2xlarge"]
    assert (a3["committed_1y"], a3["committed_3y"]) == (pytest.approx(89.0 * 0.7), pytest.approx(89.0 * 0.44))
    assert a3["source"].endswith("committed: a3 high rate")
    assert a3["committed_1y_estimated"] is False
    # No AWS family rule: the cloud-wide ratio applies and the row says it is a fallback.
    assert (g6["committed_1y"], g6["committed_3y"]) == (0.6, 0.4)
    assert "fallback ratio" in g6["source"]


def test_manual_rows_keep_their_zones_and_spot() -> None:
    rules = {**RULES, "manual": [{"cloud": "aws", "instance_type": "p4d.24xlarge", "region": "us-east-1",
                                  "on_demand": 21.96, "spot": 9.5, "zones": ["use1-az2", "use1-az1"],
                                  "source": "newer snapshot"}]}
    (row,) = [r for r in build_prices(TYPES, rules, [], [], "2030-01-01") if r["instance_type"] == "p4d.24xlarge"]
    assert (row["zones"], row["on_demand"], row["spot"]) == (["use1-az1", "use1-az2"], 21.96, 9.5)
