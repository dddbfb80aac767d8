"""Pydantic models of the catalog data files (schema version 1).

The files are validated once per process; the selector then walks plain frozen dataclasses
(`servestack.catalog.types`), which are much cheaper to iterate than pydantic models.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "SCHEMA_VERSION",
    "AcceleratorRecord",
    "AcceleratorsFile",
    "InstanceTypeRecord",
    "PriceRecord",
    "OfferingsFile",
]

SCHEMA_VERSION = 1

_DATE = r"^\d{4}-\d{2}-\d{2}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AcceleratorRecord(_Strict):
    """Datasheet facts of one accelerator model; see `types.Accelerator` for units."""

    id: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    memory_gib: float = Field(gt=0)
    memory_bandwidth_gbps: float = Field(gt=0)
    fp16_tflops: float = Field(gt=0)
    bf16_tflops: float | None = Field(default=None, gt=0)
    fp8_tflops: float | None = Field(default=None, gt=0)
    int8_tops: float | None = Field(default=None, gt=0)
    interconnect: Literal["nvlink", "xgmi", "neuronlink", "pcie"]
    interconnect_gbps: float = Field(gt=0)
    aliases: list[str] = Field(default_factory=list)
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=_DATE)


class AcceleratorsFile(_Strict):
    schema_version: int
    as_of: str = Field(pattern=_DATE)
    accelerators: list[AcceleratorRecord]


class InstanceTypeRecord(_Strict):
    """Per-type facts, once per cloud and instance type (no region, no price)."""

    cloud: Literal["aws", "gcp"]
    instance_type: str = Field(min_length=1)
    accelerator: str = Field(min_length=1)
    accelerators_per_node: int = Field(gt=0)
    vcpus: int = Field(gt=0)
    memory_gib: float = Field(gt=0)
    local_nvme_gib: float = Field(ge=0)
    network_gbps: float = Field(gt=0)
    multi_node_network: str | None = None
    gcp_accelerator_type: str | None = None
    """The `guestAccelerators[].acceleratorType` name on GCP (e.g. nvidia-l4); None on AWS."""
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=_DATE)


class PriceRecord(_Strict):
    """USD per node-hour of one instance type in one region; null where the mode is not offered."""

    cloud: Literal["aws", "gcp"]
    region: str = Field(min_length=1)
    instance_type: str = Field(min_length=1)
    zones: list[str] = Field(default_factory=list)
    on_demand: float | None = Field(default=None, ge=0)
    spot: float | None = Field(default=None, ge=0)
    committed_1y: float | None = Field(default=None, ge=0)
    committed_3y: float | None = Field(default=None, ge=0)
    committed_1y_estimated: bool = False
    """True when committed_1y is on-demand x a fallback ratio, not a published rate for the family."""
    committed_3y_estimated: bool = False
    spot_zones: list[str] = Field(default_factory=list)
    """The zones whose spot price (below on-demand) made up the spot median."""
    spot_as_of: str | None = Field(default=None, pattern=_DATE)
    """The day the zones' spot prices were read."""
    source: str = Field(min_length=1)
    as_of: str = Field(pattern=_DATE)

    @field_validator("on_demand", "spot", "committed_1y", "committed_3y")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and value != value:  # NaN never equals itself
            raise ValueError("price must be a number")
        return value


class OfferingsFile(_Strict):
    schema_version: int
    as_of: str = Field(pattern=_DATE)
    instance_types: list[InstanceTypeRecord]
    prices: list[PriceRecord]
