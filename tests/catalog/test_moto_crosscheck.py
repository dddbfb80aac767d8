"""AWS instance facts and regional availability against moto's EC2 catalogue (an independent source)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from servestack.catalog import load_catalog

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

# moto names the GPU as EC2 does; map to canonical ids.
EC2_GPU_NAMES = {"T4": "T4", "A10G": "A10G", "L4": "L4", "L40S": "L40S", "A100": "A100-40GB", "H100": "H100",
                 "H200": "H200"}


@contextmanager
def fake_aws() -> Iterator[None]:
    """moto's mocked EC2 with throwaway credentials; the environment is restored afterwards."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with moto.mock_aws():
            yield


def offerings(region: str, location_type: str) -> list[dict[str, str]]:
    """moto's instance-type offerings of `region` at `location_type` granularity."""
    paginator = boto3.client("ec2", region_name=region).get_paginator("describe_instance_type_offerings")
    return [o for page in paginator.paginate(LocationType=location_type) for o in page["InstanceTypeOfferings"]]


@pytest.fixture(scope="module")
def ec2_types() -> Iterator[dict[str, Any]]:
    with fake_aws():
        client = boto3.client("ec2", region_name="us-east-1")
        names = sorted({it.instance_type for it in load_catalog().instance_types("aws")})
        described = client.describe_instance_types(InstanceTypes=names)["InstanceTypes"]
        yield {d["InstanceType"]: d for d in described}


def test_aws_facts_match_moto(ec2_types: dict[str, Any]) -> None:
    cat = load_catalog()
    for facts in cat.instance_types("aws"):
        d = ec2_types.get(facts.instance_type)
        assert d is not None, f"moto does not know {facts.instance_type}"
        where = facts.instance_type
        assert d["VCpuInfo"]["DefaultVCpus"] == facts.vcpus, where
        assert d["MemoryInfo"]["SizeInMiB"] / 1024 == pytest.approx(facts.memory_gib, rel=0.02), where
        gpus = d.get("GpuInfo", {}).get("Gpus", [])
        assert len(gpus) == 1, where
        name = EC2_GPU_NAMES[gpus[0]["Name"]]
        # EC2 calls both A100 variants "A100"; the memory size tells them apart.
        if name == "A100-40GB" and gpus[0]["MemoryInfo"]["SizeInMiB"] > 60 * 1024:
            name = "A100-80GB"
        assert name == facts.accelerator, where
        assert gpus[0]["Count"] == facts.accelerators_per_node, where
        # EC2 reports usable MiB (e.g. 22888 MiB for a 24 GB L4); the catalog keeps the datasheet size.
        assert gpus[0]["MemoryInfo"]["SizeInMiB"] / 1024 == pytest.approx(facts.accelerator_memory_gib, rel=0.10), where
        assert bool(d["NetworkInfo"].get("EfaSupported")) or facts.multi_node_network is None, where


def test_every_aws_row_is_offered_in_its_region() -> None:
    cat = load_catalog()
    rows = cat.filter(cloud="aws")
    missing = []
    with fake_aws():
        for region in sorted({o.region for o in rows}):
            offered = {o["InstanceType"] for o in offerings(region, "region")}
            if not offered:
                pytest.skip(f"moto has no instance-type offering data for {region}")
            here = [o.instance_type for o in rows if o.region == region]
            missing += [f"{t} in {region}" for t in here if t not in offered]
    assert not missing, missing


def test_every_aws_zone_id_offers_its_type() -> None:
    cat = load_catalog()
    rows = cat.filter(cloud="aws")
    wrong = []
    with fake_aws():
        for region in sorted({o.region for o in rows}):
            offered = {(o["InstanceType"], o["Location"]) for o in offerings(region, "availability-zone-id")}
            if not offered:
                pytest.skip(f"moto has no zone offering data for {region}")
            for off in (o for o in rows if o.region == region):
                wrong += [f"{off.instance_type} in {z}" for z in off.zones if (off.instance_type, z) not in offered]
    assert not wrong, wrong
