"""The deployment contract: the one description of what a stack deploys, with every invariant between its fields.

`Deployment` is what the selector emits (through `servestack.contract.derive`), what `plan --write` records as
`servestack:deployment`, and what the Pulumi program, the cost engine and the packs read back. Its validators are
the only place the shape is checked; nothing downstream re-derives a field.

One workload on one accelerator pool is written flat (the keys of ARCHITECTURE.md's `servestack:deployment`
plus the derived ones). `pools()` is how readers iterate, so a later multi-pool or multi-workload stack adds
entries without changing how any reader works.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from servestack.contract import shape
from servestack.contract.parts import FP8_KV_ACCELERATORS, NO_BF16_ACCELERATORS
from servestack.versions import DEFAULT_KUBERNETES_VERSION

__all__ = [
    "Pricing",
    "Serving",
    "Commitment",
    "Deployment",
    "ApiAccess",
    "DEFAULT_KUBERNETES_VERSION",
    "FP8_KV_ACCELERATORS",
    "NO_BF16_ACCELERATORS",
]

Pricing = Literal["on_demand", "spot", "1y", "3y"]




class _Camel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, allow_inf_nan=False
    )


def _whole(value: Any) -> Any:
    # Pulumi config numbers arrive as floats from JSON; accept 2.0, reject 2.5.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


class Serving(_Camel):
    """What the model server downloads and how vLLM runs it."""

    checkpoint: str = Field(min_length=3, pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
    """Hugging Face repository downloaded at cold start."""
    gated: bool
    """The publisher gates downloads: the stack needs `servestack:hfTokenSecret`."""
    dtype: Literal["bfloat16", "float16"]
    quantization: str | None = None
    """vLLM --quantization (fp8 to quantize a 16-bit checkpoint on load); None for pre-quantized checkpoints."""
    kv_cache_dtype: Literal["auto", "fp8"]
    weights_gib: float = Field(gt=0)
    """Weights held in accelerator memory, GiB."""
    checkpoint_gib: float = Field(gt=0)
    """Downloaded at cold start, GiB (twice the weights when fp8 is quantized from a 16-bit release)."""
    cache_gib: int = Field(gt=0)
    max_model_len: int = Field(gt=0)
    startup_budget_s: int = Field(gt=0)
    """Pod scheduled -> serving on a fresh node (image pull, download, load, warm-up), s."""
    node_launch_s: int = Field(gt=0)
    """A GPU node launched -> Ready, s."""

    @field_validator("cache_gib", "max_model_len", "startup_budget_s", "node_launch_s", mode="before")
    @classmethod
    def _ints(cls, value: Any) -> Any:
        return _whole(value)

    @model_validator(mode="after")
    def _cache_holds_checkpoint(self) -> Serving:
        if self.cache_gib < self.checkpoint_gib:
            raise ValueError(f"cacheGib ({self.cache_gib}) must hold the checkpoint ({self.checkpoint_gib} GiB)")
        return self


class Commitment(_Camel):
    """What to buy so the committed floor is priced as planned."""

    term: Literal["1y", "3y"]
    aws_savings_plan_usd_per_hour: float | None = Field(default=None, gt=0)
    """AWS: EC2 Instance Savings Plan commitment for the instance family in the region, USD/hour."""
    gcp_gpus: int | None = Field(default=None, gt=0)
    """GCP: resource-based commitment of this many GPUs of `gcp_gpu_type` in the region..."""
    gcp_gpu_type: str | None = None
    gcp_vcpus: int | None = Field(default=None, gt=0)
    """...plus these vCPUs and this much memory of the machine family."""
    gcp_memory_gib: float | None = Field(default=None, gt=0)
    instructions: str


class Deployment(_Camel):
    """`servestack:deployment`: one workload on one accelerator pool (see the module doc)."""

    cloud: Literal["aws", "gcp"]
    region: str = Field(min_length=1)
    zones: int = Field(ge=1, le=6)
    zone_names: list[str] = Field(min_length=1, max_length=6)
    instance_type: str = Field(min_length=1)
    spot_instance_types: list[str] | None = Field(default=None, min_length=2, max_length=20)
    """AWS spot pools: every instance type the pool may launch, `instance_type` first (capacity
    diversification; equivalents chosen by `servestack.contract.derive.spot_alternates`). The plan priced the
    spot nodes at the dearest of them. None: the pool launches `instance_type` only."""
    accelerator: str = Field(min_length=1)
    accelerators_per_node: int = Field(ge=1, le=16)
    tensor_parallel: int = Field(ge=1)
    nodes_per_replica: int = Field(ge=1)
    replicas_per_node: int = Field(ge=1)
    replicas_min: int = Field(ge=1)
    replicas_avg: int = Field(ge=1)
    replicas_peak: int = Field(ge=1)
    nodes_min: int = Field(ge=1)
    nodes_avg: int = Field(ge=1)
    nodes_peak: int = Field(ge=1)
    pricing_base: Pricing
    pricing_burst: Pricing
    hourly_usd_per_node: float = Field(ge=0)
    """USD per node-hour of the floor at pricing_base (catalog price the plan used)."""
    hourly_usd_per_node_burst: float = Field(ge=0)
    node_vcpus: int = Field(ge=1)
    node_memory_gib: float = Field(gt=0)
    root_volume_gib: int = Field(ge=20, le=16384)
    root_volume_throughput_mibps: int = Field(ge=125, le=1000)
    root_volume_iops: int = Field(ge=3000, le=16000)
    pod_cpu_millicores: int = Field(ge=100)
    pod_memory_gib: int = Field(ge=1)
    efa_interfaces: int = Field(ge=0, le=32)
    gpu_memory_utilization: float = Field(default=0.90, gt=0.0, le=0.99)
    serving: Serving
    commitment: Commitment | None = None

    @field_validator(
        "zones", "accelerators_per_node", "tensor_parallel", "nodes_per_replica", "replicas_per_node",
        "replicas_min", "replicas_avg", "replicas_peak", "nodes_min", "nodes_avg", "nodes_peak", "node_vcpus",
        "root_volume_gib", "root_volume_throughput_mibps", "root_volume_iops", "pod_cpu_millicores",
        "pod_memory_gib", "efa_interfaces", mode="before",
    )
    @classmethod
    def _ints(cls, value: Any) -> Any:
        return _whole(value)

    @model_validator(mode="after")
    def _consistent(self) -> Deployment:
        if len(self.zone_names) != self.zones or len(set(self.zone_names)) != self.zones:
            raise ValueError(f"zoneNames must list {self.zones} different zones (got {self.zone_names})")
        if self.nodes_per_replica == 1 and self.tensor_parallel > self.accelerators_per_node:
            raise ValueError(
                f"tensorParallel ({self.tensor_parallel}) cannot exceed acceleratorsPerNode "
                f"({self.accelerators_per_node}) for single-node replicas"
            )
        if self.nodes_per_replica > 1 and self.tensor_parallel != self.accelerators_per_node:
            raise ValueError("multi-node replicas use every accelerator of each node: tensorParallel must equal "
                             f"acceleratorsPerNode ({self.accelerators_per_node})")
        per_node = shape.replicas_per_node(self.accelerators_per_node, self.tensor_parallel, self.nodes_per_replica)
        if self.replicas_per_node != per_node:
            raise ValueError(f"replicasPerNode ({self.replicas_per_node}) must be {per_node} "
                             f"(acceleratorsPerNode // tensorParallel, or 1 for multi-node replicas)")
        counts = shape.Counts(self.replicas_min, self.replicas_avg, self.replicas_peak,
                              self.nodes_min, self.nodes_avg, self.nodes_peak)
        problem = shape.counts_problem(self.cloud, self.zones, per_node, self.nodes_per_replica, counts)
        if problem:
            raise ValueError(problem)
        s = self.serving
        if s.kv_cache_dtype == "fp8" and self.accelerator not in FP8_KV_ACCELERATORS:
            raise ValueError(
                f"serving.kvCacheDtype fp8 needs a part with fp8 ({', '.join(sorted(FP8_KV_ACCELERATORS))}); "
                f"{self.accelerator} crash-loops vLLM's fp8 KV cache path: use auto"
            )
        if s.dtype == "bfloat16" and self.accelerator in NO_BF16_ACCELERATORS:
            raise ValueError(f"serving.dtype bfloat16 is not supported on {self.accelerator}: use float16")
        if self.root_volume_gib < s.cache_gib:
            raise ValueError(f"rootVolumeGib ({self.root_volume_gib}) must hold serving.cacheGib ({s.cache_gib})")
        if self.root_volume_throughput_mibps * 4 > self.root_volume_iops:
            raise ValueError("rootVolumeIops must be at least 4 x rootVolumeThroughputMibps (gp3: 0.25 MiB/s per IOPS)")
        if self.efa_interfaces and (self.cloud != "aws" or self.nodes_per_replica == 1):
            raise ValueError("efaInterfaces applies only to multi-node replicas on AWS; set it to 0")
        if self.spot_instance_types is not None:
            types = self.spot_instance_types
            if self.cloud != "aws" or "spot" not in (self.pricing_base, self.pricing_burst):
                raise ValueError("spotInstanceTypes applies only to AWS stacks with a spot pool (pricingBase or "
                                 "pricingBurst spot); a GKE node pool has one machine type: remove it")
            if types[0] != self.instance_type or len(set(types)) != len(types) or not all(types):
                raise ValueError(f"spotInstanceTypes must list different instance types, instanceType "
                                 f"({self.instance_type}) first (got {types})")
        if self.commitment is not None and self.commitment.term != self.pricing_base:
            raise ValueError(f"commitment.term ({self.commitment.term}) must equal pricingBase ({self.pricing_base})")
        return self

    @property
    def spans_nodes(self) -> bool:
        """True when one replica needs more than one node (multi-node serving)."""
        return self.nodes_per_replica > 1

    @property
    def burst_nodes_max(self) -> int:
        """GPU nodes above the always-on floor at peak."""
        return self.nodes_peak - self.nodes_min

    @property
    def burst_nodes_desired(self) -> int:
        """GPU nodes above the floor at average traffic."""
        return self.nodes_avg - self.nodes_min

    def pools(self) -> list[Deployment]:
        """The accelerator pools of this workload (one today; see the module doc)."""
        return [self]

    def to_stack_config(self) -> dict[str, Any]:
        """The `servestack:deployment` value (camelCase, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class ApiAccess(_Camel):
    """`servestack:apiAccess`: how `pulumi up` (and people) reach the cluster's Kubernetes API."""

    mode: Literal["private", "cidrs"]
    """private: the API endpoint is reachable only inside the VPC (run `pulumi up` from there); cidrs: a public
    endpoint limited to `cidrs`, private access kept for the nodes."""
    cidrs: list[str] = Field(default_factory=list, max_length=40)

    @field_validator("cidrs")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        out = []
        for value in values:
            try:
                net = ipaddress.ip_network(str(value), strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not a CIDR block such as 203.0.113.0/24") from None
            if net.prefixlen == 0:
                raise ValueError(f"{value!r} opens the cluster API to the whole internet; name your networks")
            out.append(str(net))
        return out

    @model_validator(mode="after")
    def _cidrs_match_mode(self) -> ApiAccess:
        if self.mode == "cidrs" and not self.cidrs:
            raise ValueError("mode cidrs needs at least one CIDR in cidrs")
        if self.mode == "private" and self.cidrs:
            raise ValueError("mode private takes no cidrs (use mode cidrs to open the public endpoint to them)")
        return self
