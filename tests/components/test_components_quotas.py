"""The quota preflight's pure decisions (no engine): what a plan needs, and the message when a quota is short."""

import pytest

from servestack.components._common import mirrored_image
from servestack.components.gcp.quota import granted_value
from servestack.components.quotas import (
    CapacityGroup,
    QuotaError,
    aws_quota_needs,
    gcp_quota_needs,
    judge,
    require,
)

BASE_AND_SPOT_BURST = [CapacityGroup("on_demand", 2), CapacityGroup("spot", 3)]


def test_p_family_on_demand_and_spot_are_separate_quotas() -> None:
    needs = aws_quota_needs("p5.48xlarge", 192, "us-east-1", BASE_AND_SPOT_BURST)
    assert [(n.quota_id, n.needed) for n in needs] == [("L-417A185B", 384), ("L-7212CCBC", 576)]


def test_committed_groups_count_as_on_demand() -> None:
    needs = aws_quota_needs("g6e.12xlarge", 48, "us-west-2", [CapacityGroup("1y", 2), CapacityGroup("3y", 1)])
    assert [(n.quota_id, n.needed, n.region) for n in needs] == [("L-DB2E81BA", 144, "us-west-2")]


def test_non_gpu_families_need_no_gpu_quota() -> None:
    assert aws_quota_needs("m6i.large", 2, "us-east-1", BASE_AND_SPOT_BURST) == []


def test_gcp_counts_all_gpus_globally_and_on_demand_gpus_per_family() -> None:
    needs = gcp_quota_needs("nvidia-l4", 4, "us-central1", BASE_AND_SPOT_BURST)
    assert [(n.quota_id, n.needed, n.dimension) for n in needs] == [
        ("GPUS-ALL-REGIONS-per-project", 20, ""),
        ("GPUS-PER-GPU-FAMILY-per-project-region", 8, "NVIDIA_L4"),
    ]


def test_a_short_quota_names_itself_the_need_and_how_to_ask() -> None:
    [need] = aws_quota_needs("p4d.24xlarge", 96, "us-east-1", [CapacityGroup("on_demand", 2)])
    with pytest.raises(QuotaError) as info:
        require([judge(need, 0.0)])
    text = str(info.value)
    assert "Running On-Demand P instances (L-417A185B, us-east-1) is 0 vCPUs" in text
    assert "below the 192 vCPUs this deployment needs at peak" in text
    assert "aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-417A185B" in text
    assert info.value.exit_code == 1


def test_unknown_quota_is_a_note_not_a_failure() -> None:
    [need] = aws_quota_needs("g5.xlarge", 4, "us-east-1", [CapacityGroup("spot", 1)])
    notes = require([judge(need, None)])
    assert notes == [
        "aws quota All G and VT Spot Instance Requests (L-3819A6DF, us-east-1) could not be read; not checked"
    ]


def test_gcp_granted_value_picks_the_matching_family_and_region() -> None:
    [_, family] = gcp_quota_needs("nvidia-h100-80gb", 8, "us-east4", [CapacityGroup("on_demand", 1)])
    infos = [
        {"dimensions": {"gpu_family": "NVIDIA_L4", "region": "us-east4"}, "details": [{"value": "16"}]},
        {"dimensions": {"gpu_family": "NVIDIA_H100", "region": "us-central1"}, "details": [{"value": "64"}]},
        {"dimensions": {"gpu_family": "NVIDIA_H100", "region": "us-east4"}, "details": [{"value": "8"}]},
        {"dimensions": {}, "details": [{"value": "0"}]},
    ]
    assert granted_value(infos, family) == 8.0
    assert granted_value(infos[:2], family) is None


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("vllm/vllm-openai:v0.11.0", "M/vllm/vllm-openai:v0.11.0"),
        ("docker.io/vllm/vllm-openai:v0.11.0", "M/vllm/vllm-openai:v0.11.0"),
        ("busybox:1.36", "M/library/busybox:1.36"),
        ("ghcr.io/org/server:1.0", "ghcr.io/org/server:1.0"),
    ],
)
def test_docker_hub_images_go_through_the_mirror(image: str, expected: str) -> None:
    assert mirrored_image("M", image) == expected
    assert mirrored_image("", image) == image


def test_pools_of_one_family_add_up_against_one_quota() -> None:
    # A fleet of two G-family pools: each fits a 200-vCPU quota alone, together they do not.
    from servestack.components.quotas import merge_needs

    chat = aws_quota_needs("g6e.12xlarge", 48, "us-east-1", [CapacityGroup("on_demand", 3)])
    embed = aws_quota_needs("g6e.xlarge", 4, "us-east-1", [CapacityGroup("on_demand", 20), CapacityGroup("spot", 5)])
    needs = merge_needs([*chat, *embed])
    assert [(n.quota_id, n.needed) for n in needs] == [("L-DB2E81BA", 144 + 80), ("L-3819A6DF", 20)]
    with pytest.raises(QuotaError, match="is below the 224 vCPUs"):
        require([judge(needs[0], 200.0)])


def test_gcp_pools_add_up_globally_and_per_family() -> None:
    from servestack.components.quotas import merge_needs

    l4 = gcp_quota_needs("nvidia-l4", 1, "us-central1", [CapacityGroup("on_demand", 2)])
    a100 = gcp_quota_needs("nvidia-tesla-a100", 8, "us-central1", [CapacityGroup("on_demand", 1)])
    needs = merge_needs([*l4, *a100])
    assert [(n.quota_id, n.dimension, n.needed) for n in needs] == [
        ("GPUS-ALL-REGIONS-per-project", "", 10),
        ("GPUS-PER-GPU-FAMILY-per-project-region", "NVIDIA_L4", 2),
        ("GPUS-PER-GPU-FAMILY-per-project-region", "NVIDIA_A100", 8),
    ]
