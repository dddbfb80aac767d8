"""Record types of the catalog: accelerators and the cloud offerings that carry them.

Plain frozen dataclasses (not pydantic) because the selector walks up to 100,000 of them per plan;
the data files are validated once on load by `servestack.catalog.load`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Accelerator", "Offering", "PricingMode", "PRICING_MODES", "Cloud", "CLOUDS", "Precision", "PRECISIONS"]

Cloud = Literal["aws", "gcp"]
CLOUDS: tuple[Cloud, ...] = ("aws", "gcp")

PricingMode = Literal["on_demand", "spot", "1y", "3y"]
PRICING_MODES: tuple[PricingMode, ...] = ("on_demand", "spot", "1y", "3y")

Precision = Literal["fp16", "bf16", "fp8", "int8", "int4"]
PRECISIONS: tuple[Precision, ...] = ("fp16", "bf16", "fp8", "int8", "int4")


@dataclass(frozen=True, slots=True)
class Accelerator:
    """Datasheet facts of one accelerator model (per device, dense math, no sparsity)."""

    id: str
    """Canonical id: T4, A10G, L4, L40S, A100-40GB, A100-80GB, H100, H100-PCIe, H200, B200, MI300X, Inferentia2."""
    vendor: str
    memory_gib: float
    """Device memory as printed by the vendor (GB on the sheet; treated as GiB of capacity)."""
    memory_bandwidth_gbps: float
    """Peak memory bandwidth, GB/s."""
    fp16_tflops: float
    """Dense FP16 tensor TFLOPS (bf16 where the part has bf16; T4's FP16 tensor peak otherwise)."""
    bf16_tflops: float | None
    """Dense BF16 TFLOPS, None when the part has no bf16 tensor path (emulated through fp16)."""
    fp8_tflops: float | None
    """Dense FP8 TFLOPS, None when there is no native fp8 (weights-only fp8 then runs at 16-bit speed)."""
    int8_tops: float | None
    """Dense INT8 TOPS, None when no int8 tensor path is published."""
    interconnect: Literal["nvlink", "xgmi", "neuronlink", "pcie"]
    """How devices inside one node talk for tensor parallelism; pcie loses TP efficiency."""
    interconnect_gbps: float
    """Per-device GPU-to-GPU bandwidth, GB/s (NVLink total, or host PCIe when there is no link)."""
    aliases: tuple[str, ...]
    source: str
    as_of: str


@dataclass(frozen=True, slots=True)
class Offering:
    """One instance type in one region of one cloud, with its node-hour prices in USD."""

    cloud: Cloud
    region: str
    zones: tuple[str, ...]
    """Zones where the type is offered, empty when unknown."""
    instance_type: str
    accelerator: str
    """Canonical accelerator id."""
    accelerators_per_node: int
    accelerator_memory_gib: float
    vcpus: int
    memory_gib: float
    local_nvme_gib: float
    multi_node_network: str | None
    """EFA / GPUDirect-class fabric name when replicas may span nodes (pipeline parallel), else None."""
    network_gbps: float
    price_on_demand: float | None
    """USD per node-hour; None where the mode is not offered."""
    price_spot: float | None
    price_1y: float | None
    price_3y: float | None
    source: str
    as_of: str
    price_1y_estimated: bool = False
    """True when price_1y is on-demand x a fallback ratio rather than a published rate."""
    price_3y_estimated: bool = False
    spot_zones: tuple[str, ...] = ()
    """Zones whose spot price (below on-demand) made up the spot median; empty when unknown."""
    spot_as_of: str | None = None
    """The day the spot prices were read."""

    def price(self, mode: PricingMode) -> float | None:
        """USD per node-hour in `mode`, None where the mode is not offered."""
        if mode == "on_demand":
            return self.price_on_demand
        if mode == "spot":
            return self.price_spot
        if mode == "1y":
            return self.price_1y
        return self.price_3y
