"""Small synthetic catalogs for selector tests: each offering is spelled out where it is used."""

from __future__ import annotations

from collections.abc import Sequence

from servestack.catalog import Catalog
from servestack.catalog.types import Accelerator, Offering

# Datasheet-like parts (figures from shared/data/accelerators.csv), so the performance model behaves
# as it does on the real catalog while the prices and regions below stay synthetic.
FAST = Accelerator(
    id="H100", vendor="NVIDIA", memory_gib=80, memory_bandwidth_gbps=3350, fp16_tflops=989, bf16_tflops=989,
    fp8_tflops=1979, int8_tops=1979, interconnect="nvlink", interconnect_gbps=900, aliases=("h100-sxm",),
    source="synthetic (H100 SXM datasheet figures)", as_of="2026-11-28",
)
SMALL = Accelerator(
    id="L4", vendor="NVIDIA", memory_gib=24, memory_bandwidth_gbps=300, fp16_tflops=121, bf16_tflops=121,
    fp8_tflops=242, int8_tops=242, interconnect="pcie", interconnect_gbps=64, aliases=("nvidia-l4",),
    source="synthetic (L4 datasheet figures)", as_of="2026-11-28",
)
MID = Accelerator(
    id="A100-80GB", vendor="NVIDIA", memory_gib=80, memory_bandwidth_gbps=2039, fp16_tflops=312, bf16_tflops=312,
    fp8_tflops=None, int8_tops=624, interconnect="nvlink", interconnect_gbps=600, aliases=("a100",),
    source="synthetic (A100 80GB datasheet figures)", as_of="2026-11-28",
)
ACCELERATORS = {a.id: a for a in (FAST, SMALL, MID)}


def offering(
    instance_type: str,
    accelerator: str = "L4",
    per_node: int = 1,
    *,
    cloud: str = "aws",
    region: str = "us-east-1",
    zones: Sequence[str] = ("a", "b", "c"),
    on_demand: float | None = 1.0,
    spot: float | None = None,
    y1: float | None = None,
    y3: float | None = None,
    multi_node: str | None = None,
) -> Offering:
    return Offering(
        cloud=cloud,  # type: ignore[arg-type]
        region=region,
        zones=tuple(zones),
        instance_type=instance_type,
        accelerator=accelerator,
        accelerators_per_node=per_node,
        accelerator_memory_gib=ACCELERATORS[accelerator].memory_gib,
        vcpus=8 * per_node,
        memory_gib=32.0 * per_node,
        local_nvme_gib=0.0,
        multi_node_network=multi_node,
        network_gbps=25.0,
        price_on_demand=on_demand,
        price_spot=spot,
        price_1y=y1,
        price_3y=y3,
        source="synthetic",
        as_of="2026-11-28",
    )


def catalog_of(*offerings: Offering) -> Catalog:
    return Catalog.from_offerings(ACCELERATORS, offerings, as_of="2026-11-28")
