"""Small synthetic catalog documents and a fixture that writes them as a catalog directory."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ACCS: dict[str, Any] = {
    "schema_version": 1,
    "as_of": "2026-01-01",
    "accelerators": [
        {"id": "L4", "vendor": "nvidia", "memory_gib": 24, "memory_bandwidth_gbps": 300, "fp16_tflops": 121,
         "bf16_tflops": 121, "fp8_tflops": 242, "int8_tops": 242, "interconnect": "pcie", "interconnect_gbps": 64,
         "aliases": ["nvidia-l4"], "source": "test sheet", "as_of": "2026-01-01"},
        {"id": "H100", "vendor": "nvidia", "memory_gib": 80, "memory_bandwidth_gbps": 3350, "fp16_tflops": 989,
         "bf16_tflops": 989, "fp8_tflops": 1979, "int8_tops": 1979, "interconnect": "nvlink", "interconnect_gbps": 900,
         "aliases": ["h100-sxm", "nvidia-h100-80gb"], "source": "test sheet", "as_of": "2026-01-01"},
    ],
}

OFFS: dict[str, Any] = {
    "schema_version": 1,
    "as_of": "2026-01-02",
    "instance_types": [
        {"cloud": "aws", "instance_type": "g6.xlarge", "accelerator": "L4", "accelerators_per_node": 1, "vcpus": 4,
         "memory_gib": 16, "local_nvme_gib": 250, "network_gbps": 10, "multi_node_network": None,
         "gcp_accelerator_type": None, "source": "test", "as_of": "2026-01-01"},
        {"cloud": "aws", "instance_type": "p5.48xlarge", "accelerator": "H100", "accelerators_per_node": 8,
         "vcpus": 192, "memory_gib": 2048, "local_nvme_gib": 30400, "network_gbps": 3200,
         "multi_node_network": "efa", "gcp_accelerator_type": None, "source": "test", "as_of": "2026-01-01"},
        {"cloud": "gcp", "instance_type": "g2-standard-4", "accelerator": "L4", "accelerators_per_node": 1,
         "vcpus": 4, "memory_gib": 16, "local_nvme_gib": 0, "network_gbps": 10, "multi_node_network": None,
         "gcp_accelerator_type": "nvidia-l4", "source": "test", "as_of": "2026-01-01"},
    ],
    "prices": [
        {"cloud": "aws", "region": "us-east-1", "instance_type": "g6.xlarge", "zones": ["use1-az1"], "on_demand": 0.8,
         "spot": 0.3, "committed_1y": 0.5, "committed_3y": 0.35, "source": "test", "as_of": "2026-01-02"},
        {"cloud": "aws", "region": "eu-west-2", "instance_type": "g6.xlarge", "zones": [], "on_demand": 1.0,
         "spot": None, "committed_1y": 0.63, "committed_3y": 0.43, "source": "test", "as_of": "2026-01-02"},
        {"cloud": "aws", "region": "us-east-1", "instance_type": "p5.48xlarge", "zones": [], "on_demand": 55.04,
         "spot": None, "committed_1y": None, "committed_3y": None, "source": "test", "as_of": "2026-01-02"},
        {"cloud": "gcp", "region": "us-central1", "instance_type": "g2-standard-4", "zones": ["us-central1-a"],
         "on_demand": 0.71, "spot": 0.28, "committed_1y": 0.45, "committed_3y": 0.32, "source": "test",
         "as_of": "2026-01-02"},
    ],
}


def _write_catalog(directory: Path, accs: dict[str, Any] | None = None, offs: dict[str, Any] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "accelerators.json").write_text(json.dumps(accs if accs is not None else ACCS))
    (directory / "offerings.json").write_text(json.dumps(offs if offs is not None else OFFS))
    return directory


WriteCatalog = Callable[..., Path]


@pytest.fixture
def write_catalog() -> WriteCatalog:
    """write_catalog(directory, accs=None, offs=None) -> directory holding both files."""
    return _write_catalog


@pytest.fixture
def accs() -> dict[str, Any]:
    return copy.deepcopy(ACCS)


@pytest.fixture
def offs() -> dict[str, Any]:
    return copy.deepcopy(OFFS)
