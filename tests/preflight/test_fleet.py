"""Preflight of stacks with several servers (servestack:workloads + servestack:fleet), written from real plans:
every pool is checked, and the pools' peaks are summed per quota before they meet the granted value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from servestack.cli import main
from servestack.preflight import preflight_stack
from servestack.preflight.checks import Report
from tests.components.fleet_stacks import AWS_PAIR, GCP_PAIR, fleet_stack, plan_pair, write_project

from .conftest import ROOT, quota_response, recorded_gcp, stubbed

G_ON_DEMAND = "L-DB2E81BA"
P_ON_DEMAND = "L-417A185B"
G_SPOT = "L-3819A6DF"


@pytest.fixture(scope="module")
def mixed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`plan --write` of the mixed-fleet example: one workload on a g5 pool and a g6e pool (both G family)."""
    project = tmp_path_factory.mktemp("mixed")
    for name in ("Pulumi.yaml", "__main__.py"):
        (project / name).write_text((ROOT / name).read_text())
    code = main(["plan", str(ROOT / "examples" / "mixed-fleet-7b.yaml"), "--env", "fleet", "--write", "-C",
                 str(project), "--api-cidr", "203.0.113.0/24"])
    assert code == 0
    return project


def _pools(project: Path) -> list[dict[str, Any]]:
    config = yaml.safe_load((project / "stacks" / "Pulumi.fleet.yaml").read_text())["config"]
    servers: list[dict[str, Any]] = config["servestack:fleet"]["servers"]
    return servers


def aws_factory(quotas: dict[str, float], ec2: Any = None) -> tuple[Callable[[str, str], Any], Any]:
    sq, stubber = stubbed("service-quotas", "us-east-1")
    for code, value in quotas.items():
        stubber.add_response("get_service_quota", quota_response(code, value),
                             {"ServiceCode": "ec2", "QuotaCode": code})

    def client(service: str, region: str) -> Any:
        if service == "service-quotas":
            return sq
        return ec2 if ec2 is not None else boto3.client(service, region_name=region)

    return client, stubber


def by_name(report: Report, fragment: str) -> list[Any]:
    return [c for c in report.checks if fragment in c.check]


def test_mixed_fleet_sums_both_pools_against_one_quota(aws_env: str, mixed_project: Path) -> None:
    pools = _pools(mixed_project)
    assert len(pools) == 2 and len({p["deployment"]["instanceType"] for p in pools}) == 2
    # Each pool needs nodesPeak x nodeVcpus of the G on-demand quota; together they need the sum.
    each = [p["deployment"]["nodesPeak"] * p["deployment"]["nodeVcpus"] for p in pools]
    granted = max(each)  # enough for either pool alone, not for both
    client, stubber = aws_factory({G_ON_DEMAND: granted})
    report = preflight_stack(mixed_project, "fleet", aws_client=client)
    stubber.assert_no_pending_responses()  # one read of the shared quota
    (quota,) = by_name(report, G_ON_DEMAND)
    assert quota.status == "fail" and f"{sum(each)} needed at peak" in quota.detail
    assert f"--quota-code {G_ON_DEMAND} --desired-value {sum(each)}" in (quota.fix or "")
    assert not report.ok

    client, _ = aws_factory({G_ON_DEMAND: sum(each)})
    report = preflight_stack(mixed_project, "fleet", aws_client=client)
    assert by_name(report, G_ON_DEMAND)[0].status == "pass"


def test_every_pool_instance_type_is_checked_in_every_zone(aws_env: str, mixed_project: Path) -> None:
    client, _ = aws_factory({G_ON_DEMAND: 1000})
    report = preflight_stack(mixed_project, "fleet", aws_client=client)
    for pool in _pools(mixed_project):
        d = pool["deployment"]
        for zone in d["zoneNames"]:
            assert by_name(report, f"aws {d['instanceType']} offered in {zone}"), report.to_json()


def test_spot_placement_is_scored_per_spot_pool(aws_env: str, tmp_path: Path) -> None:
    servers = plan_pair(AWS_PAIR)
    spot = [s for s in servers if "spot" in (s.deployment.pricing_base, s.deployment.pricing_burst)]
    assert len(spot) == 1 and len(servers) == 2  # the pair: p4d on demand, g6e with a spot burst
    project = write_project(tmp_path, "fleet", fleet_stack(servers))
    d = spot[0].deployment
    # A diversified spot group (spotInstanceTypes, instanceType first) is scored with every type it may launch.
    types = list(d.spot_instance_types or [d.instance_type])
    ec2, scores = stubbed("ec2", "us-east-1")
    for s in servers:
        scores.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
            {"InstanceType": s.deployment.instance_type, "LocationType": "availability-zone-id", "Location": z}
            for z in s.deployment.zone_names]})
    scores.add_response("get_spot_placement_scores", {"SpotPlacementScores": [
        {"Region": "us-east-1", "AvailabilityZoneId": d.zone_names[0], "Score": 3}]},
        {"InstanceTypes": types, "TargetCapacity": d.burst_nodes_max, "TargetCapacityUnitType": "units",
         "SingleAvailabilityZone": True, "RegionNames": ["us-east-1"]})
    client, _ = aws_factory({P_ON_DEMAND: 1000, G_ON_DEMAND: 1000, G_SPOT: 1000}, ec2)
    report = preflight_stack(project, "fleet", aws_client=client)
    scores.assert_no_pending_responses()
    (score,) = by_name(report, "spot placement score")
    assert f"(pool {spot[0].spec.name})" in score.check and score.status == "fail" and "3/10" in score.detail
    assert "+".join(types) in score.check
    assert [c.status for c in by_name(report, "quota")] == ["pass", "pass", "pass"]


def test_gcp_fleet_sums_gpus_against_all_regions(tmp_path: Path) -> None:
    servers = plan_pair(GCP_PAIR)
    config = fleet_stack(servers) | {"gcp:project": "servestack-dev"}
    project = write_project(tmp_path, "fleet", config)
    gpus = [s.deployment.nodes_peak * s.deployment.accelerators_per_node for s in servers]
    url = "https://compute.googleapis.com/compute/v1/projects/servestack-dev"
    limit = (200, {"quotas": [{"metric": "GPUS_ALL_REGIONS", "limit": float(max(gpus)), "usage": 0.0}]})
    report = preflight_stack(project, "fleet", gcp_get=lambda: recorded_gcp({url: limit}))
    (all_regions,) = by_name(report, "GPUS_ALL_REGIONS")
    assert all_regions.status == "fail" and f"{sum(gpus)} needed at peak" in all_regions.detail
    # One regional quota check per accelerator type of the fleet.
    metrics = {c.check for c in by_name(report, "in us-central1") if "quota" in c.check}
    assert any("A100" in m for m in metrics) and any("L4" in m for m in metrics), metrics


def test_cli_json_on_a_fleet_stack(aws_env: str, mixed_project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preflight", "-C", str(mixed_project), "-s", "fleet", "--json"],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    # moto has no EC2 quota codes (unknown) and offers both types in the chosen zone: nothing fails.
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["stack"] == "fleet" and doc["ok"] is True
    types = {p["deployment"]["instanceType"] for p in _pools(mixed_project)}
    assert {t for t in types if any(c["check"].startswith(f"aws {t} offered") for c in doc["checks"])} == types


def test_a_broken_fleet_names_the_key(mixed_project: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((mixed_project / "stacks" / "Pulumi.fleet.yaml").read_text())
    config["config"]["servestack:fleet"]["servers"][1]["deployment"]["region"] = "us-west-2"
    project = write_project(tmp_path, "broken", config["config"])
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preflight", "-C", str(project), "-s", "broken"],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and "servestack:fleet.servers[1].deployment.region" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_diversified_spot_group_needs_quota_for_its_largest_type(aws_env: str, tmp_path: Path) -> None:
    from servestack.catalog import load_catalog

    servers = plan_pair(AWS_PAIR)
    d = next(s.deployment for s in servers if s.deployment.spot_instance_types)
    catalog = load_catalog()
    largest = max(v.vcpus for t in d.spot_instance_types or [] if (v := catalog.find_offering("aws", d.region, t)))
    assert largest > d.node_vcpus  # the pair's spot burst may launch a bigger type of the same accelerator
    project = write_project(tmp_path, "fleet", fleet_stack(servers))
    client, _ = aws_factory({P_ON_DEMAND: 1000, G_ON_DEMAND: 1000, G_SPOT: d.burst_nodes_max * d.node_vcpus})
    report = preflight_stack(project, "fleet", aws_client=client)
    (quota,) = by_name(report, G_SPOT)
    assert quota.status == "fail" and f"{d.burst_nodes_max * largest} needed at peak" in quota.detail
