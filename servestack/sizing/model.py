"""The analytic performance model: memory fit, decode/prefill time, saturated throughput, SLO operating point.

Equations and assumptions are written up in docs/performance-model.md; the efficiency constants below
were chosen against the calibration set in `servestack.sizing.calibration_data` (never the holdout).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

from servestack.catalog.types import PRECISIONS, Accelerator
from servestack.errors import SpecError
from servestack.workload.known_models import ModelArchitecture

__all__ = [
    "Estimate",
    "OperatingPoint",
    "ReplicaModel",
    "estimate",
    "weight_bytes_per_param",
    "kv_bytes_per_element",
    "kv_cache_dtype",
    "precision_supported",
    "compute_path",
    "moe_compute_share",
    "EFFICIENCY",
    "ENGINES",
    "DEPLOYED_ENGINE",
    "ALLREDUCE_LINKS",
    "AllReduceLink",
    "VendorEfficiency",
    "efficiency",
]

GIB = 1024**3

# --- memory layout --------------------------------------------------------------------------
GPU_MEMORY_UTILIZATION = 0.90
"""Share of device memory the engine may use (vLLM's default gpu_memory_utilization)."""
FIXED_RESERVE_GIB = 1.0
"""Per-device CUDA/ROCm context, CUDA-graph pools and allocator slack, GiB."""
PREFILL_CHUNK_TOKENS = 8192
"""Tokens of one batched prefill step; sizes the activation reserve."""
ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN = 24.0
"""Peak live activation bytes per token per hidden unit (16-bit MLP intermediate ~3.5x hidden, twice, plus
residual and attention buffers); a deliberately round figure."""
KV_BLOCK_TOKENS = 16
"""Paged-attention block size (vLLM / TensorRT-LLM default)."""
MAX_BATCH = 1024
"""Scheduler cap on concurrently decoded sequences per replica."""

# --- time model -----------------------------------------------------------------------------
DEQUANT_FACTOR = 0.85
"""Weight-only paths (int4, fp8/int8 on parts without those tensor cores) reach this share of the native
bandwidth and compute efficiency: dequantisation runs in the GEMM main loop."""
INTER_NODE_GBPS = 50.0
"""Per-node share of an EFA / GPUDirect-class fabric, GB/s (3,200 Gbps over 8 GPUs on p5 = 50 GB/s per GPU)."""
INTER_NODE_LATENCY_S = 30e-6
MOE_COMPUTE_EFFICIENCY = 0.40
"""MoE layers whose expert GEMMs are not plain 16-bit math (native fp8/int8, or a weight-only path that
dequantises in the GEMM) run as many small grouped GEMMs plus routing: they reach this share of the dense GEMM
efficiency (chosen on the MLPerf Mixtral-8x7B fp8 H100 point; the H200 point is held out). 16-bit MoE math
reaches the dense efficiency: TensorRT-LLM's fp16 Mixtral on 2 x A100 runs its prompts at or above the dense
rate, and the 0.40 share under-predicted it by 55-58 % (see `moe_compute_share`)."""

# --- tensor-parallel communication ----------------------------------------------------------------
ACTIVATION_BYTES = 2.0
"""All-reduced activations are 16-bit whatever the weight precision (fp8 GEMMs still emit bf16)."""


@dataclass(frozen=True, slots=True)
class AllReduceLink:
    """How one all-reduce over the tensor-parallel group costs time on a kind of device link.

    time = fixed_latency_s + hop_latency_s x 2 x (TP - 1) + 2 x (TP - 1) / TP x message / (link x bus_efficiency)
    """

    bus_efficiency: float
    """Share of the per-direction link bandwidth a large all-reduce reaches (NCCL "bus bandwidth")."""
    fixed_latency_s: float
    """Cost of one all-reduce that does not grow with TP: a one-shot kernel over an NVLink/xGMI switch or mesh."""
    hop_latency_s: float
    """Cost per ring step: over PCIe the engines fall back to NCCL's ring, 2 x (TP - 1) dependent steps,
    each a PCIe round trip staged through the host when the GPUs cannot peer."""


ALLREDUCE_LINKS: dict[str, AllReduceLink] = {
    # vLLM and TensorRT-LLM run a custom one-shot / two-shot all-reduce when every GPU pair has NVLink. Decode
    # messages are 0.1-30 MB, where it reaches ~60% of the per-direction link; each extra peer to synchronise
    # adds ~1 us per step, so TP8 costs ~20 us against ~8 us at TP2.
    "nvlink": AllReduceLink(bus_efficiency=0.60, fixed_latency_s=6e-6, hop_latency_s=1e-6),
    "xgmi": AllReduceLink(bus_efficiency=0.70, fixed_latency_s=12e-6, hop_latency_s=0.0),
    "neuronlink": AllReduceLink(bus_efficiency=0.70, fixed_latency_s=15e-6, hop_latency_s=0.0),
    # No NVLink: NCCL ring over PCIe x16 (vLLM disables its custom all-reduce there). nccl-tests over PCIe Gen4
    # reach ~12-20 GB/s bus bandwidth of the 32 GB/s per direction (host-staged when peer-to-peer is off),
    # and each ring step costs a PCIe round trip of ~10 us.
    "pcie": AllReduceLink(bus_efficiency=0.45, fixed_latency_s=5e-6, hop_latency_s=10e-6),
}


@dataclass(frozen=True, slots=True)
class VendorEfficiency:
    """Achieved fractions of datasheet peaks, by vendor and serving engine (calibrated; see the docs)."""

    bandwidth: float
    """Share of peak memory bandwidth decode reaches."""
    compute: float
    """Share of dense tensor peak large GEMMs (prefill, big-batch decode) reach."""
    step_overhead_s: float
    """Fixed cost of one decode iteration (scheduling, launches not hidden by graphs)."""
    sequence_overhead_s: float = 0.0
    """Host-side cost per running sequence per decode iteration (scheduling, sampling, detokenising and
    streaming each sequence's token), which the GPU does not hide and which does not shrink with TP."""


ENGINES: tuple[str, ...] = ("vllm", "trtllm", "sglang", "tgi", "neuronx")
"""Serving engines the model has constants for (directly or through the fallback in `efficiency`)."""
DEPLOYED_ENGINE = "vllm"
"""The engine the stacks deploy (vllm/vllm-openai); `estimate` sizes for it unless told otherwise."""

EFFICIENCY: dict[tuple[str, str], VendorEfficiency] = {  # by (lower-case vendor, engine); "*" = any engine
    # TensorRT-LLM on NVIDIA: chosen on the TensorRT-LLM perf-overview, 0.5 static-batching and MLPerf points.
    ("nvidia", "trtllm"): VendorEfficiency(bandwidth=0.80, compute=0.55, step_overhead_s=0.004),
    # vLLM on NVIDIA: chosen by a grid on the vLLM calibration points only (SGLang's vLLM 0.6 runs); the GPU
    # shares match TensorRT-LLM's, the host does not: ~60 us per running sequence per step (see the docs).
    ("nvidia", "vllm"): VendorEfficiency(bandwidth=0.80, compute=0.55, step_overhead_s=0.004,
                                         sequence_overhead_s=60e-6),
    # ROCm vLLM (AMD's MLPerf submissions run vLLM).
    ("amd", "vllm"): VendorEfficiency(bandwidth=0.65, compute=0.33, step_overhead_s=0.006),
    # Neuron serving stacks (TGI / vLLM on optimum-neuron): bucketed, padded context-encoding graphs reach
    # ~10% of the 190 TFLOPS bf16 peak (1,500-token prompts take ~0.32 s on 4 chips), and every decode step
    # pays ~17 ms of host-side scheduling and sampling; chosen on the four Inferentia2 calibration points.
    ("aws", "*"): VendorEfficiency(bandwidth=0.60, compute=0.08, step_overhead_s=0.017),
}
_DEFAULT_EFFICIENCY = VendorEfficiency(bandwidth=0.55, compute=0.35, step_overhead_s=0.008)


def efficiency(vendor: str, engine: str) -> VendorEfficiency:
    """The constants for `engine` on `vendor`'s parts.

    Falls back to the vendor's any-engine entry, then to its vLLM entry (SGLang and TGI share vLLM's kernels
    and scheduler design closely enough that no separate figures are calibrated), then to a conservative default.
    """
    if engine not in ENGINES:
        raise SpecError("engine", engine, "allowed: " + ", ".join(ENGINES))
    vendor = vendor.lower()
    for key in ((vendor, engine), (vendor, "*"), (vendor, DEPLOYED_ENGINE)):
        if key in EFFICIENCY:
            return EFFICIENCY[key]
    return _DEFAULT_EFFICIENCY


def weight_bytes_per_param(precision: str) -> float:
    """Stored bytes per weight: 16-bit 2, fp8/int8 1, int4 0.5 (group scales ignored, <2%)."""
    try:
        return {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}[precision]
    except KeyError:
        raise SpecError("model.precision", precision, "allowed: " + ", ".join(PRECISIONS)) from None


def kv_cache_dtype(precision: str, accelerator: Accelerator) -> str:
    """vLLM's `--kv-cache-dtype` for a model served at `precision` on `accelerator`: "fp8" or "auto" (16-bit).

    fp8 KV only when the model runs in fp8 *and* the part has fp8 tensor cores (SM 8.9+: L4, L40S, H100, H200,
    B200). On A100/A10G/T4 vLLM routes an fp8 KV cache to a Triton attention path that cannot run there and
    the engine crash-loops, so those parts are sized and served with a 16-bit KV cache.
    """
    return "fp8" if precision == "fp8" and accelerator.fp8_tflops else "auto"


def kv_bytes_per_element(precision: str, accelerator: Accelerator) -> int:
    """KV cache element size in bytes: 1 for an fp8 KV cache (see `kv_cache_dtype`), else 2."""
    return 1 if kv_cache_dtype(precision, accelerator) == "fp8" else 2


def precision_supported(precision: str, accelerator: Accelerator) -> bool:
    """False when no serving kernel runs `precision` on `accelerator` at any speed.

    vLLM's fp8 kernels (native, or weight-only Marlin) need compute capability 8.0; pre-Ampere parts such as
    the T4 (no bf16 tensor cores, the catalog's marker for them) cannot serve an fp8 model.
    """
    return not (precision == "fp8" and accelerator.bf16_tflops is None)


def moe_compute_share(precision: str) -> float:
    """Share of the dense compute efficiency a MoE model's GEMMs reach at `precision`.

    Grouped expert GEMMs keep pace with dense ones in plain 16-bit math; on 8-bit tensor cores, and in
    weight-only kernels that dequantise experts on the fly, they lag (`MOE_COMPUTE_EFFICIENCY`). Weight-only
    MoE has no published point here, so it keeps the conservative share.
    """
    return 1.0 if precision in ("fp16", "bf16") else MOE_COMPUTE_EFFICIENCY


def compute_path(accelerator: Accelerator, precision: str) -> tuple[float, bool]:
    """(dense tensor TFLOPS the math runs at, True when it is a weight-only / emulated path).

    16-bit runs at bf16 speed, or at fp16 speed on parts without bf16 (T4) - same cost, not emulated.
    fp8 and int8 use their own tensor cores when the part has them, else weights are dequantised to 16-bit.
    int4 is weight-only everywhere (W4A16): 16-bit math plus dequantisation.
    """
    weight_bytes_per_param(precision)
    sixteen = accelerator.bf16_tflops if precision == "bf16" and accelerator.bf16_tflops else accelerator.fp16_tflops
    if precision in ("fp16", "bf16"):
        return sixteen, False
    if precision == "fp8":
        return (accelerator.fp8_tflops, False) if accelerator.fp8_tflops else (sixteen, True)
    if precision == "int8":
        return (accelerator.int8_tops, False) if accelerator.int8_tops else (sixteen, True)
    return sixteen, True


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """One load level of a replica: `batch` sequences decoded together."""

    batch: int
    output_tokens_per_s: float
    requests_per_s: float
    ttft_ms: float
    tpot_ms: float


@dataclass(frozen=True, slots=True)
class ReplicaModel:
    """Everything the time equations need, precomputed once per estimate (all per replica)."""

    tp: int
    pp: int
    input_tokens: int
    output_tokens: int
    bandwidth_bps: float
    """Achieved per-device memory bandwidth, bytes/s."""
    flops: float
    """Achieved per-device dense FLOP/s at the run precision."""
    step_overhead_s: float
    sequence_overhead_s: float
    shared_weight_bytes: float
    """Bytes of weights every step reads whatever the batch (all weights for dense models)."""
    expert_bytes: float
    """Bytes of one expert across all layers (0 for dense models)."""
    experts: int
    active_experts: int
    all_weight_bytes: float
    kv_bytes_per_token_device: float
    flops_per_token: float
    """Linear-layer FLOPs per token (2 x active parameters)."""
    attn_flops_per_token_per_ctx: float
    """Attention FLOPs per token per context token (QK^T and AV: 4 x layers x q_dim)."""
    hidden_size: int
    layers: int
    link: AllReduceLink
    link_bps: float
    """Per-direction bandwidth of one device's link into the tensor-parallel group, bytes/s."""
    max_batch: int

    def allreduce_one_s(self, tokens: float) -> float:
        """One all-reduce of `tokens` tokens' activations (tokens x hidden x 2 B) over the TP group."""
        if self.tp == 1:
            return 0.0
        message = tokens * self.hidden_size * ACTIVATION_BYTES
        steps = 2.0 * (self.tp - 1)
        transfer = steps / self.tp * message / (self.link_bps * self.link.bus_efficiency)
        return self.link.fixed_latency_s + self.link.hop_latency_s * steps + transfer

    def _allreduce_s(self, tokens: float) -> float:
        # Two all-reduces per transformer layer (after attention and after the MLP), on one stage's layers.
        return 2.0 * (self.layers / self.pp) * self.allreduce_one_s(tokens)

    def _hop_s(self, tokens: float) -> float:
        return INTER_NODE_LATENCY_S + tokens * self.hidden_size * 2.0 / (INTER_NODE_GBPS * 1e9)

    def weight_bytes_read(self, tokens: float) -> float:
        """Weight bytes one forward pass over `tokens` tokens reads (whole model, all devices).

        MoE: each token picks `active_experts` of `experts`; with uniform routing the expected number of
        distinct experts touched per layer is E * (1 - (1 - k/E)^tokens).
        """
        if self.experts <= 1:
            return self.shared_weight_bytes
        untouched_share: float = math.pow(1.0 - self.active_experts / self.experts, tokens)
        touched = self.experts * (1.0 - untouched_share)
        return self.shared_weight_bytes + touched * self.expert_bytes

    def decode_step_s(self, batch: float) -> float:
        """Time for every one of `batch` sequences to get one new token (one round through all stages)."""
        # Up to pp microbatches keep the stages busy; fewer sequences than stages leave bubbles.
        micro = batch / max(1, min(self.pp, math.ceil(batch)))
        ctx = self.input_tokens + self.output_tokens / 2.0
        devices = self.tp * self.pp
        mem = (self.weight_bytes_read(micro) / devices + micro * ctx * self.kv_bytes_per_token_device) / (
            self.bandwidth_bps
        )
        comp = micro * (self.flops_per_token + self.attn_flops_per_token_per_ctx * ctx) / devices / self.flops
        stage = max(mem, comp) + self._allreduce_s(micro)
        # With pipeline parallelism each microbatch passes every stage: a round is pp stage-steps plus hops.
        host = self.step_overhead_s + self.sequence_overhead_s * batch
        return self.pp * stage + (self.pp - 1) * self._hop_s(micro) + host

    def prefill_flops(self, tokens: int) -> float:
        # Causal attention does half the L^2 work.
        return tokens * self.flops_per_token + self.attn_flops_per_token_per_ctx * tokens * tokens / 2.0

    def prefill_cost_s(self) -> float:
        """Replica-seconds one prompt's prefill takes out of a saturated batch (compute bound, all devices)."""
        n = self.input_tokens
        # Stages work on different prompts at once, so each stage's share is the replica's cost.
        return self.prefill_flops(n) / (self.tp * self.pp * self.flops) + self._allreduce_s(n)

    def prefill_latency_s(self) -> float:
        """Latency of one prompt's prefill on an idle replica: stages run one after another."""
        n = self.input_tokens
        comp = self.prefill_flops(n) / (self.tp * self.flops)
        mem = self.all_weight_bytes / (self.tp * self.pp) / self.bandwidth_bps * self.pp
        return max(comp, mem) + self._allreduce_s(n) * self.pp + (self.pp - 1) * self._hop_s(n)

    def point(self, batch: int) -> OperatingPoint:
        """Throughput and latency with `batch` sequences in flight (closed loop, continuous batching).

        Each request costs its prefill share plus `output_tokens` decode slots of step/batch:
        requests/s = 1 / (prefill_cost + out * step / batch); TPOT = batch / output tokens/s, i.e. the decode
        step stretched by the prefills interleaved with it. TTFT = the current step + a lone prefill slowed
        by the share of time other prompts' prefills occupy (f = requests/s * prefill_cost).
        """
        step = self.decode_step_s(batch)
        cost = self.prefill_cost_s()
        rps = 1.0 / (cost + self.output_tokens * step / batch)
        out_tps = rps * self.output_tokens
        busy = min(rps * cost, 0.95)
        ttft = step + self.prefill_latency_s() / (1.0 - busy)
        tpot = batch / out_tps
        return OperatingPoint(batch, out_tps, rps, ttft * 1e3, tpot * 1e3)


@dataclass(frozen=True, slots=True)
class Estimate:
    """The answer for one (model, precision, accelerator, count, lengths) question; per replica."""

    fits: bool
    reason: str | None
    weights_gib: float
    """All weights of the replica, GiB."""
    kv_cache_bytes_per_token: int
    """Whole-model KV bytes per token: 2 x layers x kv_heads x head_dim x KV element size."""
    max_concurrent_sequences: int
    """Sequences of input+output tokens the KV cache holds at once (0 when it does not fit)."""
    output_tokens_per_s: float
    """Saturated output tokens/s of the whole replica."""
    requests_per_s: float
    ttft_ms: float
    tpot_ms: float
    reason_code: str | None = None
    """Why it does not fit, as a selector rejection reason: does_not_fit_in_memory, precision_unsupported or
    tensor_parallel_indivisible (None when it fits). The selector reads this, so `estimate` and `plan` agree."""
    kv_cache_gib: float = 0.0
    """KV cache memory left on the replica after weights and reserves, GiB."""
    kv_blocks: int = 0
    accelerators: int = 0
    emulated_precision: bool = False
    model: ReplicaModel | None = field(default=None, repr=False, compare=False)

    def point(self, batch: int) -> OperatingPoint | None:
        """The operating point at `batch` concurrent sequences, None when the model does not fit."""
        if self.model is None or not self.fits:
            return None
        return self.model.point(max(1, min(batch, self.max_concurrent_sequences)))

    def ttft_at_batch_1_ms(self) -> float:
        """TTFT of a lone request (the floor any TTFT SLO must clear); inf when the model does not fit."""
        p = self.point(1)
        return math.inf if p is None else p.ttft_ms

    def tpot_at_batch_1_ms(self) -> float:
        """TPOT of a lone request (the floor any TPOT SLO must clear); inf when the model does not fit."""
        p = self.point(1)
        return math.inf if p is None else p.tpot_ms

    def operating_point(self, tpot_slo_ms: float | None, ttft_slo_ms: float | None) -> OperatingPoint | None:
        """Highest-throughput point whose TPOT and TTFT meet the SLOs (None: even batch 1 misses them).

        TPOT and TTFT both grow with batch and throughput does too, so bisection finds the largest batch.
        """
        if self.model is None or not self.fits or self.max_concurrent_sequences < 1:
            return None
        model = self.model

        def ok(b: int) -> bool:
            p = model.point(b)
            return (tpot_slo_ms is None or p.tpot_ms <= tpot_slo_ms) and (
                ttft_slo_ms is None or p.ttft_ms <= ttft_slo_ms
            )

        lo, hi = 1, self.max_concurrent_sequences
        if not ok(lo):
            return None
        if ok(hi):
            return model.point(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                lo = mid
            else:
                hi = mid
        return model.point(lo)

    def to_json(self) -> dict[str, object]:
        """The Estimate JSON contract of ARCHITECTURE.md, contract keys first."""
        return {
            "fits": self.fits,
            "weights_gib": round(self.weights_gib, 2),
            "kv_cache_bytes_per_token": self.kv_cache_bytes_per_token,
            "max_concurrent_sequences": self.max_concurrent_sequences,
            "output_tokens_per_s": round(self.output_tokens_per_s, 1),
            "requests_per_s": round(self.requests_per_s, 3),
            "ttft_ms": round(self.ttft_ms, 1),
            "tpot_ms": round(self.tpot_ms, 2),
            "reason": self.reason,
            "kv_cache_gib": round(self.kv_cache_gib, 2),
            "accelerators": self.accelerators,
            "emulated_precision": self.emulated_precision,
        }


def _check_int(field_name: str, value: int, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(field_name, value, f"an integer >= {minimum}")


def estimate(
    arch: ModelArchitecture,
    precision: str,
    accelerator: Accelerator,
    accelerators_per_node: int,
    nodes: int,
    input_tokens: int,
    output_tokens: int,
    *,
    context_tokens: int | None = None,
    multi_node_network: bool = False,
    engine: str = DEPLOYED_ENGINE,
) -> Estimate:
    """Size one replica: tensor parallel over `accelerators_per_node`, pipeline parallel over `nodes`.

    `context_tokens` is the longest sequence the replica must hold (defaults to input + output); concurrency
    and throughput are computed at input + output. `engine` picks the calibrated constants (default: vLLM, the
    engine the stacks deploy). Results are cached per argument tuple.
    """
    if engine not in ENGINES:
        raise SpecError("engine", engine, "allowed: " + ", ".join(ENGINES))
    weight_bytes_per_param(precision)
    _check_int("accelerators_per_node", accelerators_per_node, 1)
    _check_int("nodes", nodes, 1)
    _check_int("input_tokens", input_tokens, 1)
    _check_int("output_tokens", output_tokens, 1)
    if context_tokens is not None:
        _check_int("context_tokens", context_tokens, 1)
    return _estimate_cached(
        arch, precision, accelerator, accelerators_per_node, nodes, input_tokens, output_tokens,
        context_tokens, multi_node_network, engine,
    )


def _not_fitting(
    reason: str, weights_gib: float, kv_per_token: int, count: int, emulated: bool,
    code: str = "does_not_fit_in_memory",
) -> Estimate:
    return Estimate(
        fits=False, reason=reason, reason_code=code, weights_gib=weights_gib, kv_cache_bytes_per_token=kv_per_token,
        max_concurrent_sequences=0, output_tokens_per_s=0.0, requests_per_s=0.0, ttft_ms=math.inf,
        tpot_ms=math.inf, accelerators=count, emulated_precision=emulated,
    )


@lru_cache(maxsize=65536)
def _estimate_cached(
    arch: ModelArchitecture,
    precision: str,
    acc: Accelerator,
    tp: int,
    pp: int,
    input_tokens: int,
    output_tokens: int,
    context_tokens: int | None,
    multi_node_network: bool,
    engine: str,
) -> Estimate:
    count = tp * pp
    wbytes = weight_bytes_per_param(precision)
    kv_elem = kv_bytes_per_element(precision, acc)
    all_weight_bytes = arch.params_b * 1e9 * wbytes
    weights_gib = all_weight_bytes / GIB
    kv_per_token = 2 * arch.layers * arch.kv_heads * arch.head_dim * kv_elem
    tflops, emulated = compute_path(acc, precision)
    seq_tokens = input_tokens + output_tokens
    context = max(context_tokens or seq_tokens, seq_tokens)

    if not precision_supported(precision, acc):
        return _not_fitting(
            f"{precision} needs an Ampere-or-newer part (compute capability 8.0); {acc.id} has none of its kernels",
            weights_gib, kv_per_token, count, emulated, code="precision_unsupported",
        )
    if pp > 1 and not multi_node_network:
        return _not_fitting(
            f"a replica over {pp} nodes needs pipeline parallelism over an EFA/GPUDirect-class network, "
            "which this offering lacks", weights_gib, kv_per_token, count, emulated,
        )
    if pp > arch.layers:
        return _not_fitting(f"{pp} pipeline stages exceed the model's {arch.layers} layers",
                            weights_gib, kv_per_token, count, emulated)
    if arch.attention_heads % tp and acc.interconnect != "neuronlink":
        # GPU serving engines shard attention heads evenly over tensor-parallel ranks (vLLM refuses
        # otherwise); the Neuron SDK pads heads instead, so 12-device Inferentia2 layouts are valid.
        return _not_fitting(
            f"tensor parallel {tp} does not divide the model's {arch.attention_heads} attention heads",
            weights_gib, kv_per_token, count, emulated, code="tensor_parallel_indivisible",
        )

    capacity = acc.memory_gib * GIB
    activations = PREFILL_CHUNK_TOKENS * arch.hidden_size * ACTIVATION_BYTES_PER_TOKEN_PER_HIDDEN / tp
    budget = capacity * GPU_MEMORY_UTILIZATION - FIXED_RESERVE_GIB * GIB - activations
    weights_device = all_weight_bytes / count
    if weights_device > budget:
        return _not_fitting(
            f"weights need {weights_gib:.1f} GiB ({weights_device / GIB:.1f} GiB per accelerator over {count}); "
            f"{budget / GIB:.1f} GiB per accelerator is available after the runtime reserve "
            f"({GPU_MEMORY_UTILIZATION:.0%} of {acc.memory_gib:g} GiB less activations and a "
            f"{FIXED_RESERVE_GIB:g} GiB fixed reserve)", weights_gib, kv_per_token, count, emulated,
        )
    # KV heads shard over tensor ranks; with more ranks than KV heads the heads are replicated.
    kv_heads_device = math.ceil(arch.kv_heads / tp)
    layers_device = math.ceil(arch.layers / pp)
    kv_token_device = 2 * layers_device * kv_heads_device * arch.head_dim * kv_elem
    kv_free = budget - weights_device
    kv_tokens = int(kv_free // kv_token_device)
    blocks = kv_tokens // KV_BLOCK_TOKENS
    blocks_per_seq = math.ceil(seq_tokens / KV_BLOCK_TOKENS)
    if blocks < math.ceil(context / KV_BLOCK_TOKENS):
        return _not_fitting(
            f"the KV cache holds {blocks * KV_BLOCK_TOKENS} tokens after {weights_gib:.1f} GiB of weights, "
            f"fewer than one {context}-token sequence", weights_gib, kv_per_token, count, emulated,
        )
    max_seqs = blocks // blocks_per_seq

    eff = efficiency(acc.vendor, engine)
    dequant = DEQUANT_FACTOR if emulated else 1.0
    active_b = arch.params_read_per_token_b
    if arch.is_moe and arch.experts > arch.active_experts:
        expert_params = (arch.params_b - active_b) / (arch.experts - arch.active_experts)
        shared_params = active_b - arch.active_experts * expert_params
    else:
        expert_params, shared_params = 0.0, arch.params_b
    q_dim = arch.attention_heads * arch.head_dim
    link_bps = acc.interconnect_gbps * 1e9 / 2.0  # the catalog holds bidirectional totals
    model = ReplicaModel(
        tp=tp, pp=pp, input_tokens=input_tokens, output_tokens=output_tokens,
        bandwidth_bps=acc.memory_bandwidth_gbps * 1e9 * eff.bandwidth * dequant,
        flops=tflops * 1e12 * eff.compute * dequant * (moe_compute_share(precision) if arch.is_moe else 1.0),
        step_overhead_s=eff.step_overhead_s, sequence_overhead_s=eff.sequence_overhead_s,
        shared_weight_bytes=shared_params * 1e9 * wbytes,
        expert_bytes=expert_params * 1e9 * wbytes,
        experts=arch.experts, active_experts=arch.active_experts,
        all_weight_bytes=all_weight_bytes,
        kv_bytes_per_token_device=kv_token_device,
        flops_per_token=2.0 * active_b * 1e9,
        attn_flops_per_token_per_ctx=4.0 * arch.layers * q_dim,
        hidden_size=arch.hidden_size, layers=arch.layers,
        link=ALLREDUCE_LINKS[acc.interconnect], link_bps=link_bps,
        max_batch=MAX_BATCH,
    )
    batch = max(1, min(max_seqs, MAX_BATCH))
    sat = model.point(batch)
    return Estimate(
        fits=True, reason=None, weights_gib=weights_gib, kv_cache_bytes_per_token=kv_per_token,
        max_concurrent_sequences=min(max_seqs, MAX_BATCH), output_tokens_per_s=sat.output_tokens_per_s,
        requests_per_s=sat.requests_per_s, ttft_ms=sat.ttft_ms, tpot_ms=sat.tpot_ms,
        kv_cache_gib=kv_free * count / GIB, kv_blocks=blocks, accelerators=count,
        emulated_precision=emulated, model=model,
    )
