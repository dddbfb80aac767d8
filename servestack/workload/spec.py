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
    "RequestClass",
    "MIX_SHARE_TOLERANCE",
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
    checkpoint_precision: Literal["fp16", "bf16", "fp8", "int8", "int4"] | None = Field(
        default=None,
        description=(
            "Precision `checkpoint` is stored at, when it is not `precision`: bf16 or fp16 with precision fp8 "
            "serves a 16-bit release quantized on load (vLLM --quantization fp8; twice the download). "
            "int8/int4 need a pre-quantized release."
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

    @model_validator(mode="after")
    def _checkpoint_precision_loads(self) -> ModelSpec:
        # What vLLM can do with a release stored at another precision: quantize 16 bits to fp8 as it loads.
        stored = self.checkpoint_precision
        if stored is not None:
            if self.checkpoint is None:
                raise FieldValueError("checkpoint_precision", stored, "only with model.checkpoint (the release it "
                                      "describes)")
            sixteen = ("bf16", "fp16")
            if stored != self.precision and not (stored in sixteen and self.precision in (*sixteen, "fp8")):
                raise FieldValueError(
                    "checkpoint_precision", stored,
                    f"{self.precision} (a release already at the served precision), or bf16/fp16 when precision is "
                    "fp8 (quantized on load); vLLM cannot quantize a release to int8/int4 on load, and does not "
                    "widen a quantized release")
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


MIX_SHARE_TOLERANCE = 1e-6
"""How far the shares of `traffic.request_mix` may sum from 1."""

MAX_REQUEST_CLASSES = 16
"""Most classes a mix may have: the mixed-fleet integer program grows with classes x offerings."""


class RequestClass(_Strict):
    """One size class of requests: its share of all requests and its (mean) token lengths."""

    name: str | None = Field(
        default=None,
        description="DNS-1123 label naming the class (router rules, metrics); defaults to class-1, class-2, ...",
    )
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False), BeforeValidator(_not_bool)] = Field(
        description="Fraction of all requests in this class (the shares of a mix sum to 1)."
    )
    # Bounded far above any model's context (checked against it by WorkloadSpec) so the mix arithmetic stays finite.
    input_tokens: PositiveInt = Field(le=10_000_000, description="Prompt tokens of a request of this class.")
    output_tokens: PositiveInt = Field(le=10_000_000, description="Generated tokens of a request of this class.")

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str | None) -> str | None:
        if value is not None and not _DNS_1123_LABEL.match(value):
            raise ValueError("must be a DNS-1123 label: lower-case letters, digits and '-', 1-63 characters")
        return value


class Traffic(_Strict):
    """Offered load: one class of average lengths, or a mix of request size classes.

    With `request_mix` the averages may be omitted (they are derived as the share-weighted means, rounded);
    when given they must agree with the mix to within one token, so a spec cannot say two different things.
    `request_log` is read by the spec loader (relative to the spec file) and replaced by the mix it derives.
    """

    peak_requests_per_s: PositiveFloat
    avg_requests_per_s: PositiveFloat
    avg_input_tokens: PositiveInt = 1
    avg_output_tokens: PositiveInt = 1
    request_mix: list[RequestClass] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REQUEST_CLASSES,
        description="Request size classes {share, input_tokens, output_tokens}; shares sum to 1.",
    )
    request_log: str | None = Field(
        default=None,
        description=(
            "CSV of logged requests (input_tokens,output_tokens per row), relative to the spec file; the loader "
            "derives request_mix from it (see docs/traffic-mixes.md)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _averages_from_mix(cls, data: object) -> object:
        if not isinstance(data, dict) or not isinstance(data.get("request_mix"), list):
            return data
        filled = dict(data)
        classes = [c for c in data["request_mix"] if isinstance(c, dict)]
        try:
            shares = [float(c["share"]) for c in classes]
            for key in ("input_tokens", "output_tokens"):
                mean = sum(float(c["share"]) * float(c[key]) for c in classes) / sum(shares)
                filled.setdefault(f"avg_{key}", max(1, round(mean)))
        except (KeyError, TypeError, ValueError, ArithmeticError):
            return data  # the field validators name what is wrong with the classes
        return filled

    @model_validator(mode="after")
    def _avg_below_peak(self) -> Traffic:
        if self.avg_requests_per_s > self.peak_requests_per_s:
            raise FieldValueError(
                "avg_requests_per_s",
                self.avg_requests_per_s,
                f"cannot exceed peak_requests_per_s ({self.peak_requests_per_s})",
            )
        if self.request_log is not None:
            raise FieldValueError(
                "request_log", self.request_log,
                "is read by `servestack plan SPEC` relative to the spec file; give traffic.request_mix when "
                "building a spec in code",
            )
        if self.request_mix is None:
            return self
        total = sum(c.share for c in self.request_mix)
        if abs(total - 1.0) > MIX_SHARE_TOLERANCE:
            shares = " + ".join(f"{c.share:g}" for c in self.request_mix)
            raise FieldValueError(
                "request_mix", [c.share for c in self.request_mix],
                f"the shares must sum to 1 (within {MIX_SHARE_TOLERANCE:g}): {shares} = {total:.6g}",
            )
        names = [c.name or f"class-{i}" for i, c in enumerate(self.request_mix, 1)]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldValueError(f"request_mix[{i}].name", name, "class names must be unique")
        for key in ("input_tokens", "output_tokens"):
            mean = sum(c.share * getattr(c, key) for c in self.request_mix)
            given = getattr(self, f"avg_{key}")
            if abs(given - mean) > 1.0:
                raise FieldValueError(
                    f"avg_{key}", given,
                    f"disagrees with traffic.request_mix, whose share-weighted mean is {mean:.1f}; "
                    "omit it (it is derived from the mix) or correct it",
                )
        return self

    def classes(self) -> list[tuple[str, float, int, int]]:
        """(name, share, input_tokens, output_tokens) of every class; the averages are one class of share 1."""
        if self.request_mix is None:
            return [("all", 1.0, self.avg_input_tokens, self.avg_output_tokens)]
        return [
            (c.name or f"class-{i}", c.share, c.input_tokens, c.output_tokens)
            for i, c in enumerate(self.request_mix, 1)
        ]


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

    def for_classes(self, names: list[str] | tuple[str, ...]) -> WorkloadSpec:
        """The same workload restricted to some request classes, at their absolute rates (a subset of the traffic).

        Shares are renormalised over the classes kept; request rates scale by the classes' total share.
        """
        kept = [c for c in self.traffic.classes() if c[0] in names]
        if not kept:
            raise ValueError(f"no request class named {list(names)}")
        total = sum(share for _, share, _, _ in kept)
        traffic = {
            "peak_requests_per_s": self.traffic.peak_requests_per_s * total,
            "avg_requests_per_s": self.traffic.avg_requests_per_s * total,
            "request_mix": [
                {"name": name, "share": share / total, "input_tokens": i, "output_tokens": o}
                for name, share, i, o in kept
            ],
        }
        data = self.model_dump(exclude_none=True)
        data["traffic"] = traffic
        return WorkloadSpec.model_validate(data)

    @model_validator(mode="after")
    def _mix_fits_the_model(self) -> WorkloadSpec:
        mix = self.traffic.request_mix
        if mix is None:
            return self
        if self.model.measured is not None:
            raise FieldValueError(
                "traffic.request_mix", f"{len(mix)} classes",
                "needs an analytic model (model.id or model.architecture); measured figures are per request rate",
            )
        context = self.model.context_tokens
        for i, c in enumerate(mix):
            if c.input_tokens + c.output_tokens > context:
                raise FieldValueError(
                    f"traffic.request_mix[{i}].input_tokens", c.input_tokens,
                    f"input_tokens + output_tokens ({c.input_tokens + c.output_tokens}) exceed the model's context "
                    f"of {context} tokens (model.max_context_tokens); raise it or shorten the class",
                )
        return self

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
