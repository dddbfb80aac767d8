"""The workload spec: what a team wants served, validated by pydantic v2.

Field names and nesting are the contract of ARCHITECTURE.md ("Workload spec"). Only facts that need
nothing but the spec itself are checked here; names that need the catalog (accelerators, regions) are
checked by `servestack.selector.validate`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from servestack.errors import did_you_mean
from servestack.workload.known_models import KNOWN_MODELS, ModelArchitecture, known_model

__all__ = [
    "FieldValueError",
    "WorkloadSpec",
    "ModelSpec",
    "ArchitectureSpec",
    "MeasuredSpec",
    "MeasuredThroughput",
    "Traffic",
    "Slo",
    "Availability",
    "Placement",
    "PricingPolicy",
    "Budget",
    "Owner",
]

_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")



class FieldValueError(ValueError):
    """A cross-field rule broken by one field: `field` is relative to the model that raises it."""

    def __init__(self, field: str, value: object, message: str) -> None:
        self.field, self.value = field, value
        super().__init__(message)


def _not_bool(value: object) -> object:
    # pydantic's lax mode reads `true` as 1; a YAML boolean where a number belongs is a typo.
    if isinstance(value, bool):
        raise ValueError("a number, not a boolean")
    return value


PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False), BeforeValidator(_not_bool)]
PositiveInt = Annotated[int, Field(gt=0), BeforeValidator(_not_bool)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArchitectureSpec(_Strict):
    """An explicit transformer-decoder architecture, for models that are not built in."""

    params_b: PositiveFloat = Field(description="Total parameters in billions (all experts for MoE).")
    layers: PositiveInt
    hidden_size: PositiveInt
    attention_heads: PositiveInt
    kv_heads: PositiveInt = Field(description="Key/value heads (equal to attention_heads without GQA/MQA).")
    head_dim: PositiveInt | None = Field(default=None, description="Defaults to hidden_size / attention_heads.")
    vocab_size: PositiveInt
    experts: PositiveInt = Field(default=1, description="MoE experts per layer; 1 for a dense model.")
    active_experts: PositiveInt = Field(default=1, description="Experts each token is routed to.")
    active_params_b: PositiveFloat | None = Field(
        default=None, description="Parameters read per token in billions (MoE); defaults to params_b."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ArchitectureSpec:
        if self.kv_heads > self.attention_heads:
            raise FieldValueError("kv_heads", self.kv_heads, f"cannot exceed attention_heads ({self.attention_heads})")
        if self.active_experts > self.experts:
            raise FieldValueError("active_experts", self.active_experts, f"cannot exceed experts ({self.experts})")
        if self.active_params_b is not None and self.active_params_b > self.params_b:
            raise FieldValueError("active_params_b", self.active_params_b, f"cannot exceed params_b ({self.params_b})")
        return self


class MeasuredThroughput(_Strict):
    """A measured operating point of one replica on one accelerator type."""

    accelerator: str = Field(description="Accelerator id (T4, L4, A10G, ...), case-insensitive.")
    accelerators_per_replica: PositiveInt = 1
    requests_per_s: PositiveFloat = Field(description="Sustained requests/s of one replica at the p95 latency below.")
    latency_ms_p95: PositiveFloat = Field(description="p95 request latency at that load, ms.")


class MeasuredSpec(_Strict):
    """Measured figures for models the analytic model cannot describe (embedding, vision, speech)."""

    memory_gib: PositiveFloat = Field(description="Accelerator memory one replica needs, GiB.")
    throughput: list[MeasuredThroughput] = Field(min_length=1)


class ModelSpec(_Strict):
    """Which model to serve: a built-in `id`, an `architecture` block, or `measured` figures (exactly one)."""

    id: str | None = Field(default=None, description="Built-in model id: " + ", ".join(sorted(KNOWN_MODELS)))
    architecture: ArchitectureSpec | None = None
    measured: MeasuredSpec | None = None
    precision: Literal["fp16", "bf16", "fp8", "int8", "int4"] = "bf16"
    max_context_tokens: PositiveInt | None = Field(
        default=None, description="Longest prompt+output served; defaults to the model's own limit (capped at 32768)."
    )
    checkpoint: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][\w.-]*/[\w.-]+$",
        description=(
            "Hugging Face repository to serve (owner/name), already at `precision` (pre-quantized for "
            "fp8/int8/int4). Needed for architecture or measured models and for precisions without a known "
            "published release of a built-in id."
        ),
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> ModelSpec:
        given = [k for k in ("id", "architecture", "measured") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of model.id, model.architecture or model.measured (got {given or 'none'})"
            )
        return self

    @field_validator("id")
    @classmethod
    def _known_id(cls, value: str | None) -> str | None:
        if value is not None and known_model(value) is None:
            raise ValueError(
                f"unknown model id{did_you_mean(value, KNOWN_MODELS)}; built-in ids: "
                + ", ".join(sorted(KNOWN_MODELS))
                + " (or give model.architecture)"
            )
        return value.strip().lower() if value is not None else None

    def resolved_architecture(self) -> ModelArchitecture | None:
        """The architecture to size with; None for measured-only models."""
        if self.id is not None:
            return known_model(self.id)
        if self.architecture is not None:
            a = self.architecture
            return ModelArchitecture(
                params_b=a.params_b,
                layers=a.layers,
                hidden_size=a.hidden_size,
                attention_heads=a.attention_heads,
                kv_heads=a.kv_heads,
                head_dim=a.head_dim or a.hidden_size // a.attention_heads,
                vocab_size=a.vocab_size,
                experts=a.experts,
                active_experts=a.active_experts,
                active_params_b=a.active_params_b,
                max_context_tokens=self.max_context_tokens or 8192,
            )
        return None

    @property
    def context_tokens(self) -> int:
        """Longest sequence a replica must hold (prompt + output), tokens."""
        if self.max_context_tokens is not None:
            return self.max_context_tokens
        arch = self.resolved_architecture()
        return min(arch.max_context_tokens, 32768) if arch else 8192


class Traffic(_Strict):
    """Offered load. Token lengths are averages per request."""

    peak_requests_per_s: PositiveFloat
    avg_requests_per_s: PositiveFloat
    avg_input_tokens: PositiveInt = 1
    avg_output_tokens: PositiveInt = 1

    @model_validator(mode="after")
    def _avg_below_peak(self) -> Traffic:
        if self.avg_requests_per_s > self.peak_requests_per_s:
            raise FieldValueError(
                "avg_requests_per_s",
                self.avg_requests_per_s,
                f"cannot exceed peak_requests_per_s ({self.peak_requests_per_s})",
            )
        return self


class Slo(_Strict):
    """Latency objectives at p95. A missing field means no objective on it."""

    ttft_ms_p95: PositiveFloat | None = Field(default=None, description="Time to first token, ms.")
    tpot_ms_p95: PositiveFloat | None = Field(default=None, description="Time per output token, ms.")
    latency_ms_p95: PositiveFloat | None = Field(
        default=None, description="Whole-request latency, ms (used with model.measured)."
    )


class Availability(_Strict):
    min_replicas: PositiveInt = Field(default=1, description="Replicas that are always on (the floor).")
    zones: PositiveInt = Field(default=1, description="Zones the floor is spread over.")


CloudName = Literal["aws", "gcp"]


def _all_clouds() -> list[CloudName]:
    return ["aws", "gcp"]


class Placement(_Strict):
    clouds: list[CloudName] = Field(default_factory=_all_clouds, min_length=1)
    regions: list[str] = Field(default_factory=list, description="Allowed regions; empty means any.")
    accelerators_allowed: list[str] = Field(default_factory=list, description="Empty means any.")
    accelerators_denied: list[str] = Field(default_factory=list)


class PricingPolicy(_Strict):
    spot: Literal["never", "allowed", "only"] = Field(
        default="never", description="allowed: on-demand floor of min_replicas, spot above it; only: all spot."
    )
    commitment: Literal["none", "1y", "3y"] = Field(
        default="none", description="1y/3y: the always-on floor may be bought as a commitment."
    )


class Budget(_Strict):
    monthly_usd: PositiveFloat | None = Field(
        default=None, description="Ceiling (every node group at max for 730 h) must stay within it."
    )


class Owner(_Strict):
    """Who pays: becomes the cost-allocation tags/labels of every resource."""

    team: str = Field(pattern=r"^[a-z0-9]([-_a-z0-9]{0,61}[a-z0-9])?$", description="Team label value.")
    cost_center: str = Field(pattern=r"^[a-z0-9]([-_a-z0-9]{0,61}[a-z0-9])?$", description="Cost centre label value.")


class WorkloadSpec(_Strict):
    """A model-serving workload: the input of `servestack plan`."""

    name: str = Field(description="DNS-1123 label: lower-case letters, digits and '-', at most 63 characters.")
    model: ModelSpec
    traffic: Traffic
    slo: Slo = Field(default_factory=Slo)
    availability: Availability = Field(default_factory=Availability)
    placement: Placement = Field(default_factory=Placement)
    pricing: PricingPolicy = Field(default_factory=PricingPolicy)
    budget: Budget = Field(default_factory=Budget)
    owner: Owner | None = Field(default=None, description="Cost-allocation tags (team, cost centre).")

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not _DNS_1123_LABEL.match(value):
            raise ValueError("must be a DNS-1123 label: lower-case letters, digits and '-', 1-63 characters")
        return value

    @model_validator(mode="after")
    def _measured_needs_latency(self) -> WorkloadSpec:
        if self.model.measured is None and self.model.context_tokens < (
            self.traffic.avg_input_tokens + self.traffic.avg_output_tokens
        ):
            raise FieldValueError(
                "model.max_context_tokens",
                self.model.context_tokens,
                "shorter than traffic.avg_input_tokens + traffic.avg_output_tokens "
                f"({self.traffic.avg_input_tokens + self.traffic.avg_output_tokens}); raise it or shorten the requests",
            )
        return self
