"""GCP preflight over recorded Compute Engine and Service Usage responses behind the injectable transport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servestack.preflight import preflight_stack
from servestack.preflight.checks import Report

from .conftest import recorded_gcp

PROJECT = "https://compute.googleapis.com/compute/v1/projects/servestack-dev"
REGION = PROJECT + "/regions/us-central1"


def run(project: Path, overrides: dict[str, tuple[int, Any]] | None = None) -> Report:
    return preflight_stack(project, "test", gcp_get=lambda: recorded_gcp(overrides))


def check(report: Report, fragment: str) -> Any:
    (found,) = [c for c in report.checks if fragment in c.check]
    return found


def quotas(**limits: float) -> tuple[int, dict[str, Any]]:
    return 200, {"kind": "compute#region", "name": "us-central1",
                 "quotas": [{"metric": m, "limit": v, "usage": 0.0} for m, v in limits.items()]}


def test_dev_stack_passes(make_project: Callable[..., Path]) -> None:
    report = run(make_project("gcp-l4"))
    assert report.ok, report.to_json()
    assert check(report, "PREEMPTIBLE_NVIDIA_L4_GPUS").status == "pass"  # the dev stack is all spot
    assert check(report, "GPUS_ALL_REGIONS").status == "pass"
    assert check(report, "nvidia-l4 offered in us-central1-a").status == "pass"
    assert sum("API" in c.check and c.status == "pass" for c in report.checks) == 5


def test_regional_quota_short_names_quota_and_value(make_project: Callable[..., Path]) -> None:
    # 1 always-on + 2 burst on-demand L4 nodes of one GPU: 3 GPUs, against NVIDIA_L4_GPUS of 2.
    project = make_project("gcp-l4", pricingBase="on_demand", pricingBurst="on_demand", nodesPeak=3, replicasPeak=3,
                           nodesAvg=1)
    report = run(project, {REGION: quotas(NVIDIA_L4_GPUS=2.0)})
    assert not report.ok
    short = check(report, "NVIDIA_L4_GPUS in us-central1")
    assert short.status == "fail" and "short by 1" in short.detail
    assert "--quota-id=GPUS-PER-GPU-FAMILY-per-project-region --preferred-value=3" in short.fix
    assert "--dimensions=region=us-central1,gpu_family=NVIDIA_L4" in short.fix


def test_spot_uses_regular_quota_without_preemptible_quota(make_project: Callable[..., Path]) -> None:
    report = run(make_project("gcp-l4"), {REGION: quotas(NVIDIA_L4_GPUS=1.0)})
    assert check(report, "NVIDIA_L4_GPUS in us-central1 (no PREEMPTIBLE_NVIDIA_L4_GPUS)").status == "pass"
    report = run(make_project("gcp-l4"), {REGION: quotas(NVIDIA_L4_GPUS=0.0)})
    assert check(report, "PREEMPTIBLE_NVIDIA_L4_GPUS").status == "fail"


def test_all_regions_quota_and_disabled_api_fail_with_commands(make_project: Callable[..., Path]) -> None:
    service = "https://serviceusage.googleapis.com/v1/projects/servestack-dev/services/container.googleapis.com"
    report = run(make_project("gcp-l4"), {
        PROJECT: (200, {"quotas": [{"metric": "GPUS_ALL_REGIONS", "limit": 0.0, "usage": 0.0}]}),
        service: (200, {"name": "projects/1/services/container.googleapis.com", "state": "DISABLED"}),
    })
    all_regions = check(report, "GPUS_ALL_REGIONS")
    assert all_regions.status == "fail"
    assert "--quota-id=GPUS-ALL-REGIONS-per-project --preferred-value=1 --project=servestack-dev" in all_regions.fix
    api = check(report, "container.googleapis.com")
    assert api.status == "fail"
    assert api.fix == "gcloud services enable container.googleapis.com --project=servestack-dev"


def test_permission_denied_is_unknown(make_project: Callable[..., Path]) -> None:
    denied = (403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                              "message": "Required 'compute.regions.get' permission for 'projects/servestack-dev'"}})
    report = run(make_project("gcp-l4"), {REGION: denied})
    regional = check(report, "PREEMPTIBLE_NVIDIA_L4_GPUS")
    assert regional.status == "unknown" and "HTTP 403" in regional.detail and "compute.regions.get" in regional.detail
    assert report.ok


def test_accelerator_not_offered_in_zone(make_project: Callable[..., Path]) -> None:
    report = run(make_project("gcp-l4", zoneNames=["us-central1-b"]))
    missing = check(report, "nvidia-l4 offered in us-central1-b")
    assert missing.status == "fail" and "us-central1-a" in missing.detail
    assert not report.ok


def test_preflight_asks_for_the_accelerator_type_the_node_pool_attaches() -> None:
    node_pool = pytest.importorskip("servestack.components.gcp.node_pool")
    from servestack.catalog.gke import GKE_ACCELERATOR_TYPES
    from servestack.preflight.stack import gke_accelerator_type

    for accel in GKE_ACCELERATOR_TYPES:
        for machine in ("a3-megagpu-8g", "a3-highgpu-8g", "g2-standard-4"):
            assert gke_accelerator_type(accel, machine) == node_pool.gke_accelerator_type(accel, machine)
    # A part GKE does not offer: the component refuses it, preflight reports it as not offered.
    with pytest.raises(ValueError, match="GpuNodePool: accelerator='MI300X' is not valid on GKE"):
        node_pool.gke_accelerator_type("MI300X", "a3-highgpu-8g")
    assert gke_accelerator_type("MI300X", "a3-highgpu-8g") == "mi300x"
