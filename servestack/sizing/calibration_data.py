"""Published throughput measurements the performance model is calibrated and checked against.

`CALIBRATION` chose the efficiency constants of `servestack.sizing.model`; `HOLDOUT` was never used to
choose them and only measures the error (tests/sizing/test_calibration.py). Each point is one published
system: `replicas` independent copies of a replica of `accelerators` devices (tensor parallel in one node);
`measured_output_tokens_per_s` is the whole system's output tokens/s. `batch` is set for static-batching
measurements taken at a fixed batch size; otherwise the figure is the saturated (max-load) throughput.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ENGINES", "CalibrationPoint", "CALIBRATION", "HOLDOUT"]

ENGINES: tuple[str, ...] = ("trtllm", "vllm", "sglang", "tgi", "neuronx")
"""Serving engines a published point may come from: TensorRT-LLM, vLLM, SGLang, Hugging Face TGI, and
AWS transformers-neuronx (a bare sampling loop, no server)."""


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    model: str
    precision: str
    accelerator: str
    accelerators: int
    """Devices per replica (tensor parallel)."""
    replicas: int
    input_tokens: int
    output_tokens: int
    measured_output_tokens_per_s: float | None
    """Output tokens/s of all replicas together; None for a latency-only point (an online run below saturation)."""
    source: str
    date: str
    batch: int | None = None
    """Sequences in flight: the fixed batch of a static-batching run, the engine's concurrency cap of a saturated
    run (vLLM's max_num_seqs), or an online run's mean concurrency (rate x latency); None = the KV-cache limit."""
    note: str = ""
    engine: str = field(default="", kw_only=True)
    """The serving engine that produced the figure (one of `ENGINES`); the model applies that engine's constants."""
    measured_ttft_ms: float | None = field(default=None, kw_only=True)
    measured_tpot_ms: float | None = field(default=None, kw_only=True)
    scheduler_steps: int = field(default=1, kw_only=True)
    """vLLM 0.6's --num-scheduler-steps: decode steps run back to back before the scheduler admits new requests,
    so a new request waits half such a window on average before its prefill starts (added to the model's TTFT)."""


_TRT_V1 = (
    "TensorRT-LLM perf-overview, 'Total Output Throughput' (trtllm-bench, max load), "
    "github.com/NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md @ 00f37686"
)
_TRT_V1_DATE = "2025 (TensorRT-LLM 1.0 docs)"
_TRT_V05 = (
    "TensorRT-LLM performance.md (release/0.5.0): static batching, H100/L40S FP8 with FP8 KV, A100 FP16; "
    "github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md"
)
_TRT_V05_DATE = "2023-10 (TensorRT-LLM 0.5.0)"
_MLPERF41 = "MLPerf Inference v4.1 closed, Offline, github.com/mlcommons/inference_results_v4.1 "
_MLPERF41_DATE = "2024-08-28"
# MLPerf llama2-70b (OpenOrca): mean output = tokens/s / samples/s from the logs (~290); mean input ~294
# tokens per the MLCommons reference description (approximate).
_L2_IN, _L2_OUT = 294, 290
# MLPerf mixtral-8x7b (OpenOrca + GSM8K + MBXP): mean output 146 from the logs; mean input assumed ~200.
_MX_IN, _MX_OUT = 200, 146

# Inferentia2: one accelerator here is one Inferentia2 device (2 NeuronCores); Neuron's "TP 8 / 24" counts
# cores. The optimum-neuron runs use guidellm emulated prompts of 1500 +- 150 tokens and 250 +- 20 outputs;
# "throughput" rows saturate every replica at its compiled batch, "synchronous" rows send one request at a
# time (modelled as batch 1 on one replica, prefill included).
_ON = "github.com/huggingface/optimum-neuron "
_ON_TGI_8B = (_ON + "benchmark/text-generation-inference/performance/llama3.1-8b/tgi-results.csv @ 0a817b1e "
              "(TGI neuron, guidellm)")
_ON_TGI_70B = (_ON + "benchmark/text-generation-inference/performance/llama3-70b-inf2.48xlarge/tgi-results.csv "
               "@ 591ac13a (TGI neuron, guidellm)")
_ON_VLLM_CP = (_ON + "benchmark/vllm/chunked-prefill/hybrid-ods-2026-08-25.csv @ d9a0c42c "
               "(vLLM 0.16, chunked prefill + on-device sampling, guidellm)")
_ON_VLLM_24 = (_ON + "benchmark/vllm/single-instance/llama-3.1-8b-inf2 (llama-3.1-8b-inf2-report.md @ 1b88abef; "
               "vLLM 0.16 on inf2.24xlarge, guidellm)")
_NEURON_216 = ("AWS Neuron SDK docs, Inf2 performance, general/benchmarks/inf2/throughput_data_decoder.csv @ 1351ee12 "
               "(github.com/aws-neuron/aws-neuron-sdk; transformers-neuronx sampling loop, no server)")
_ON_IN, _ON_OUT = 1500, 250

# vLLM on NVIDIA GPUs. Both sources run vLLM's benchmark_serving on ShareGPT: 1,000 prompts average 215 input
# tokens (the "Total input tokens: 215196" every ShareGPT run prints) and the offline runs average 194 output
# tokens (output tokens/s / requests/s of the SGLang runs: 4132.37 / 21.27 and 3700.64 / 19.04). vLLM 0.6 caps
# a replica at max_num_seqs = 256 sequences, so saturated runs are compared at batch 256. Online runs (Poisson
# arrivals at R requests/s) are compared at their mean concurrency, R x the median end-to-end latency (Little's
# law), on TTFT and TPOT medians.
_SHAREGPT_IN, _SHAREGPT_OUT = 215, 194
_VLLM_MAX_SEQS = 256
_SGL_VLLM060 = ("vLLM 0.6.0 (--num-scheduler-steps 10) as run by SGLang, sglang bench_serving on ShareGPT, "
                "github.com/sgl-project/sglang benchmark/benchmark_vllm_060/README.md @ 120affb9")
_SGL_VLLM060_DATE = "2024-09 (vLLM 0.6.0)"
_LAMBDA = ("Lambda, 'LLMs inference benchmarks, using vLLM, on Lambda Cloud' (vLLM 0.6.0, --num-scheduler-steps 10, "
           "5,000 prompts, max-num-seqs 256), github.com/LambdaLabsML/vllm-benchmark benchmark_v0.md @ 0e8fc5d0")
_LAMBDA_DATE = "2024-09 (vLLM 0.6.0)"


_SGL_SGLANG030 = ("SGLang 0.3.0, sglang bench_serving on ShareGPT, github.com/sgl-project/sglang "
                  "benchmark/benchmark_vllm_060/README.md @ 120affb9")
_SGL_SGLANG030_DATE = "2024-09 (SGLang 0.3.0)"


def _online(model: str, acc: str, tp: int, rate: float, e2e_ms: float, ttft_ms: float, tpot_ms: float,
            source: str, date: str, engine: str = "vllm") -> CalibrationPoint:
    """A latency-only point of an online run: compared at the run's mean concurrency, rate x latency."""
    return CalibrationPoint(model, "bf16", acc, tp, 1, _SHAREGPT_IN, _SHAREGPT_OUT, None, source, date,
                            batch=max(1, round(rate * e2e_ms / 1e3)), engine=engine, measured_ttft_ms=ttft_ms,
                            measured_tpot_ms=tpot_ms, scheduler_steps=10 if engine == "vllm" else 1,
                            note=f"online, {rate:g} requests/s, median E2E {e2e_ms:,.0f} ms (medians)")


_LENGTHS = ((128, 128), (128, 2048), (128, 4096), (500, 2000), (1000, 1000), (1000, 2000), (2048, 128),
            (2048, 2048), (5000, 500), (20000, 2000))


def _trt_v1(model: str, acc: str, tp: int, values: tuple[float, ...], take: tuple[int, ...]) -> list[CalibrationPoint]:
    return [
        CalibrationPoint(model, "fp8", acc, tp, 1, _LENGTHS[i][0], _LENGTHS[i][1], values[i], _TRT_V1, _TRT_V1_DATE,
                         engine="trtllm")
        for i in take
    ]


_ALL = tuple(range(10))
_L31_8B_H100 = (28312, 22714, 14325, 17660, 15220, 13899, 3450, 9305, 3459, 1351)
_L31_8B_H200 = (27911, 26221, 18027, 20770, 17744, 16828, 3538, 12194, 3902, 1804)
_L33_70B_H100_TP2 = (6378, 6651, 4199, 5222, 4205, 4146, 762, 3082, 898, 437)
_L33_70B_H200_TP1 = (3803, 4336, 2872, 3666, 2909, 2994, 442, 2003, 566, 283)
_L31_405B_H100_TP8 = (3627, 4340, 3116, 3994, 2919, 2895, 453, 2296, 610, 345)
_L31_405B_H200_TP8 = (3814, 5348, 4741, 4724, 3330, 3722, 456, 2948, 650, 505)


def _v05(model: str, precision: str, acc: str, rows: tuple[tuple[int, int, int, float], ...]) -> list[CalibrationPoint]:
    return [
        CalibrationPoint(model, precision, acc, 1, 1, i, o, v, _TRT_V05, _TRT_V05_DATE, batch=b, engine="trtllm")
        for b, i, o, v in rows
    ]


# Multi-GPU static-batching tables of TensorRT-LLM's performance.md (gptSessionBenchmark at a fixed batch; the
# tables give output tokens/s per GPU, so a point's system figure is that x TP). NVIDIA's A100 system is the
# 80 GB SXM (NVLink) part: Mixtral fp16 at TP2 (~93 GB of weights) does not fit two 40 GB cards. The L40S has
# no NVLink, so its TP2/TP4 rows are the only published PCIe multi-GPU figures in this data set.
_TRT_V061 = ("TensorRT-LLM performance.md, data 'updated for v0.6.1' (static batching, out tok/s/GPU), "
             "github.com/NVIDIA/TensorRT-LLM docs/source/performance.md @ 77d24b5f")
_TRT_V061_DATE = "2023-12 (TensorRT-LLM 0.6.1)"
_TRT_V09 = ("TensorRT-LLM performance.md, 'All data was generated using version 0.9.0' (static batching, "
            "out tok/s/GPU), github.com/NVIDIA/TensorRT-LLM docs/source/performance.md (v0.9.0 revision)")
_TRT_V09_DATE = "2024-04 (TensorRT-LLM 0.9.0)"


def _trt_tp(model: str, precision: str, acc: str, source: str, date: str,
            rows: tuple[tuple[int, int, int, int, float], ...]) -> list[CalibrationPoint]:
    """Rows of (TP, batch, input, output, tokens/s per GPU) from a per-GPU static-batching table."""
    return [
        CalibrationPoint(model, precision, acc, tp, 1, i, o, per_gpu * tp, source, date, batch=b, engine="trtllm",
                         note=f"{per_gpu:,.0f} tok/s/GPU x {tp}")
        for tp, b, i, o, per_gpu in rows
    ]


CALIBRATION: tuple[CalibrationPoint, ...] = (
    # Llama 3.3 70B has the Llama 3.1 70B architecture.
    *_trt_v1("llama-3.1-8b", "H100", 1, _L31_8B_H100, _ALL),
    *_trt_v1("llama-3.1-70b", "H100", 2, _L33_70B_H100_TP2, _ALL),
    CalibrationPoint("llama-2-70b", "fp8", "H100", 2, 4, _L2_IN, _L2_OUT, 24524.9,
                     _MLPERF41 + "closed/NVIDIA/results/DGX-H100_H100-SXM-80GBx8_TRT/llama2-70b-99.9",
                     _MLPERF41_DATE, note="8 GPUs as 4 x TP2 (NVIDIA's H100 llama2-70b configuration)",
                     engine="trtllm"),
    CalibrationPoint("llama-2-70b", "fp8", "MI300X", 1, 1, _L2_IN, _L2_OUT, 3062.72,
                     _MLPERF41 + "closed/AMD/results/1xMI300X_2xEPYC-9374F/llama2-70b-99.9", _MLPERF41_DATE,
                     engine="vllm"),
    CalibrationPoint("mixtral-8x7b", "fp8", "H100", 1, 8, _MX_IN, _MX_OUT, 52415.9,
                     _MLPERF41 + "closed/NVIDIA/results/DGX-H100_H100-SXM-80GBx8_TRT/mixtral-8x7b", _MLPERF41_DATE,
                     note="replica layout not stated in the summary; modelled as 8 x TP1", engine="trtllm"),
    *_v05("llama-2-7b", "fp8", "H100", ((64, 128, 128, 9193), (64, 128, 2048, 5367), (64, 2048, 128, 2058),
                                        (32, 2048, 2048, 2230))),
    *_v05("llama-2-7b", "fp8", "L40S", ((64, 128, 128, 3240), (64, 128, 2048, 1622), (32, 2048, 128, 581),
                                        (16, 2048, 2048, 531))),
    *_v05("llama-2-7b", "fp16", "A100-80GB", ((64, 128, 128, 3486), (32, 128, 2048, 1459), (32, 2048, 128, 529),
                                              (16, 2048, 2048, 592))),
    # A100 (NVLink) at TP2/TP4/TP8, TensorRT-LLM 0.9.0 fp16: chose to keep 16-bit MoE GEMMs at the dense efficiency
    # (`model.moe_compute_share`). Left out: Mixtral 2048/2048 at batch 32 (801 tok/s/GPU), which needs each decode
    # step to read all 46.7 GB/GPU of expert weights faster than the A100's 2,039 GB/s peak allows.
    *_trt_tp("mixtral-8x7b", "fp16", "A100-80GB", _TRT_V09, _TRT_V09_DATE,
             ((2, 512, 128, 128, 2842), (2, 128, 128, 2048, 1724), (2, 64, 2048, 128, 319))),
    *_trt_tp("llama-2-70b", "fp16", "A100-80GB", _TRT_V09, _TRT_V09_DATE,
             ((4, 1024, 128, 128, 686), (8, 512, 128, 2048, 684), (4, 96, 2048, 128, 80),
              (4, 64, 2048, 2048, 289))),
    # vLLM 0.6 on NVIDIA (one source; the vLLM holdout below shares none with it): chose the vLLM constants.
    CalibrationPoint("llama-3.1-8b", "bf16", "A100-80GB", 1, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 4132.37, _SGL_VLLM060,
                     _SGL_VLLM060_DATE, batch=_VLLM_MAX_SEQS, engine="vllm", scheduler_steps=10,
                     note="offline, 5,000 prompts at once, 21.27 requests/s"),
    CalibrationPoint("llama-3.1-70b", "bf16", "H100", 4, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 3700.64, _SGL_VLLM060,
                     _SGL_VLLM060_DATE, batch=_VLLM_MAX_SEQS, engine="vllm", scheduler_steps=10,
                     note="offline, 5,000 prompts at once, 19.04 requests/s; gpu_memory_utilization 0.88"),
    _online("llama-3.1-8b", "A100-80GB", 1, 4, 1691.97, 100.48, 14.14, _SGL_VLLM060, _SGL_VLLM060_DATE),
    _online("llama-3.1-8b", "A100-80GB", 1, 8, 2137.16, 120.39, 17.09, _SGL_VLLM060, _SGL_VLLM060_DATE),
    _online("llama-3.1-70b", "H100", 4, 4, 2915.60, 179.15, 23.58, _SGL_VLLM060, _SGL_VLLM060_DATE),
    _online("llama-3.1-70b", "H100", 4, 8, 3752.38, 207.12, 29.15, _SGL_VLLM060, _SGL_VLLM060_DATE),
    # Inferentia2, TGI neuron on inf2.48xlarge; these four chose the Neuron constants.
    CalibrationPoint("llama-3.1-8b", "bf16", "Inferentia2", 4, 3, _ON_IN, _ON_OUT, 919.2, _ON_TGI_8B, "2025-06-03",
                     batch=32, note="3 replicas x 4 devices (8 cores), compiled batch 32; mean of 3 runs "
                                    "(929.0, 913.6, 914.9 tok/s)", engine="tgi"),
    CalibrationPoint("llama-3.1-8b", "bf16", "Inferentia2", 4, 1, _ON_IN, _ON_OUT, 34.96, _ON_TGI_8B, "2025-06-03",
                     batch=1, note="synchronous run (one request at a time); ITL 26.8 ms, TTFT 316 ms", engine="tgi"),
    CalibrationPoint("llama-3.1-70b", "bf16", "Inferentia2", 12, 1, _ON_IN, _ON_OUT, 92.35, _ON_TGI_70B, "2025-06-04",
                     batch=8, note="DeepSeek-R1-Distill-Llama-70B (Llama 3.1 70B architecture), 12 devices "
                                   "(24 cores), compiled batch 8; mean of 3 runs (95.3, 86.9, 94.8 tok/s)",
                     engine="tgi"),
    CalibrationPoint("llama-3.1-70b", "bf16", "Inferentia2", 12, 1, _ON_IN, _ON_OUT, 20.5, _ON_TGI_70B, "2025-06-04",
                     batch=1, note="synchronous run; ITL 44.4 ms, TTFT 1.09 s", engine="tgi"),
)

HOLDOUT: tuple[CalibrationPoint, ...] = (
    *_trt_v1("llama-3.1-8b", "H200", 1, _L31_8B_H200, _ALL),
    *_trt_v1("llama-3.1-70b", "H200", 1, _L33_70B_H200_TP1, _ALL),
    *_trt_v1("llama-3.1-405b", "H100", 8, _L31_405B_H100_TP8, _ALL),
    *_trt_v1("llama-3.1-405b", "H200", 8, _L31_405B_H200_TP8, _ALL),
    CalibrationPoint("llama-2-70b", "fp8", "H200", 1, 8, _L2_IN, _L2_OUT, 31302.7,
                     _MLPERF41 + "closed/NVIDIA/results/H200-SXM-141GBx8_TRT/llama2-70b-99", _MLPERF41_DATE,
                     note="8 GPUs as 8 x TP1", engine="trtllm"),
    CalibrationPoint("llama-2-70b", "fp8", "MI300X", 1, 8, _L2_IN, _L2_OUT, 23514.8,
                     _MLPERF41 + "closed/AMD/results/8xMI300X_2xEPYC-9374F/llama2-70b-99", _MLPERF41_DATE,
                     note="8 GPUs as 8 x TP1 (one model copy per GPU)", engine="vllm"),
    CalibrationPoint("mixtral-8x7b", "fp8", "H200", 1, 8, _MX_IN, _MX_OUT, 59022.3,
                     _MLPERF41 + "closed/NVIDIA/results/H200-SXM-141GBx8_TRT/mixtral-8x7b", _MLPERF41_DATE,
                     note="modelled as 8 x TP1", engine="trtllm"),
    *_v05("gpt-j-6b", "fp8", "H100", ((64, 128, 128, 10907), (64, 128, 2048, 6179), (64, 2048, 128, 2229),
                                      (64, 2048, 2048, 2980))),
    *_v05("gpt-j-6b", "fp8", "L40S", ((64, 128, 128, 3630), (64, 128, 2048, 1859), (32, 2048, 128, 616),
                                      (32, 2048, 2048, 757))),
    *_v05("gpt-j-6b", "fp16", "A100-80GB", ((64, 128, 128, 3679), (32, 128, 2048, 1558), (32, 2048, 128, 526),
                                            (16, 2048, 2048, 650))),
    # A100 (NVLink) at TP2 and TP4 from TensorRT-LLM 0.6.1, L40S (PCIe) at TP2 and TP4 from 0.9.0: never used to
    # choose constants (0.9.0's A100 rows are in the calibration set).
    *_trt_tp("gpt-j-6b", "fp16", "A100-80GB", _TRT_V061, _TRT_V061_DATE,
             ((2, 120, 128, 2048, 2192), (2, 64, 2048, 2048, 903))),
    *_trt_tp("llama-2-7b", "fp16", "A100-80GB", _TRT_V061, _TRT_V061_DATE, ((2, 64, 2048, 2048, 782),)),
    *_trt_tp("llama-2-70b", "fp16", "A100-80GB", _TRT_V061, _TRT_V061_DATE,
             ((4, 1280, 128, 128, 670), (4, 240, 128, 2048, 525), (4, 120, 2048, 128, 79))),
    *_trt_tp("llama-2-70b", "fp8", "L40S", _TRT_V09, _TRT_V09_DATE,
             ((2, 256, 128, 128, 562), (4, 256, 128, 2048, 478), (2, 16, 2048, 128, 49),
              (4, 64, 2048, 2048, 185))),
    *_trt_tp("mixtral-8x7b", "fp8", "L40S", _TRT_V09, _TRT_V09_DATE,
             ((4, 256, 128, 128, 1266), (4, 256, 128, 2048, 1490), (4, 64, 2048, 128, 155),
              (4, 32, 2048, 2048, 412))),
    # vLLM 0.6 on NVIDIA, a second source (Lambda): never used to choose the vLLM constants. The 8B and 70B runs
    # serve the bf16 Instruct checkpoints (the repository's cache_model.py at that commit lists exactly those two);
    # 405B is the FP8 Hermes-3 checkpoint (Llama 3.1 405B architecture). TPOT is the median at saturation.
    CalibrationPoint("llama-3.1-8b", "bf16", "H100", 1, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 8088.35, _LAMBDA, _LAMBDA_DATE,
                     batch=_VLLM_MAX_SEQS, engine="vllm", scheduler_steps=10, measured_tpot_ms=25.57),
    CalibrationPoint("llama-3.1-70b", "bf16", "H100", 4, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 3542.88, _LAMBDA,
                     _LAMBDA_DATE, batch=_VLLM_MAX_SEQS, engine="vllm", scheduler_steps=10, measured_tpot_ms=61.10),
    CalibrationPoint("llama-3.1-405b", "fp8", "H100", 8, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 1714.07, _LAMBDA,
                     _LAMBDA_DATE, batch=_VLLM_MAX_SEQS, engine="vllm", scheduler_steps=10, measured_tpot_ms=112.20,
                     note="1,280 prompts; Hermes-3-Llama-3.1-405B-FP8"),
    # SGLang 0.3.0 in the same runs: SGLang has no constants of its own (it uses vLLM's), so all of it is holdout.
    CalibrationPoint("llama-3.1-8b", "bf16", "A100-80GB", 1, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 4281.51, _SGL_SGLANG030,
                     _SGL_SGLANG030_DATE, batch=_VLLM_MAX_SEQS, engine="sglang",
                     note="offline, 5,000 prompts at once, 22.03 requests/s; torch.compile"),
    CalibrationPoint("llama-3.1-70b", "bf16", "H100", 4, 1, _SHAREGPT_IN, _SHAREGPT_OUT, 3856.01, _SGL_SGLANG030,
                     _SGL_SGLANG030_DATE, batch=_VLLM_MAX_SEQS, engine="sglang",
                     note="offline, 5,000 prompts at once, 19.84 requests/s; mem_frac 0.88"),
    _online("llama-3.1-8b", "A100-80GB", 1, 4, 1564.17, 31.98, 13.17, _SGL_SGLANG030, _SGL_SGLANG030_DATE, "sglang"),
    _online("llama-3.1-8b", "A100-80GB", 1, 8, 2175.02, 35.68, 17.85, _SGL_SGLANG030, _SGL_SGLANG030_DATE, "sglang"),
    _online("llama-3.1-70b", "H100", 4, 4, 3005.24, 53.94, 25.03, _SGL_SGLANG030, _SGL_SGLANG030_DATE, "sglang"),
    _online("llama-3.1-70b", "H100", 4, 8, 4064.98, 58.11, 33.07, _SGL_SGLANG030, _SGL_SGLANG030_DATE, "sglang"),
    # Inferentia2, newer vLLM stack and older transformers-neuronx figures: never used to choose constants.
    CalibrationPoint("llama-3.1-8b", "bf16", "Inferentia2", 4, 1, _ON_IN, _ON_OUT, 427.2, _ON_VLLM_CP, "2026-08-25",
                     batch=32, note="one replica, 4 devices (TP 8 cores), batch 32, 32 users", engine="vllm"),
    CalibrationPoint("llama-3.1-8b", "bf16", "Inferentia2", 4, 1, _ON_IN, _ON_OUT, 39.48, _ON_VLLM_CP, "2026-08-25",
                     batch=1, note="synchronous run; ITL 24.0 ms", engine="vllm"),
    CalibrationPoint("llama-3.1-8b", "bf16", "Inferentia2", 2, 1, _ON_IN, _ON_OUT, 44.21, _ON_VLLM_24, "2026-08-24",
                     batch=4, note="inf2.24xlarge, 2 devices (TP 4 cores), compiled batch 4, 4 users", engine="vllm"),
    CalibrationPoint("llama-3.1-8b", "bf16", "Inferentia2", 2, 1, _ON_IN, _ON_OUT, 18.17, _ON_VLLM_24, "2026-08-24",
                     batch=1, note="synchronous run; ITL 50.7 ms", engine="vllm"),
    CalibrationPoint("llama-2-13b", "bf16", "Inferentia2", 12, 1, 1024, 1024, 198.1, _NEURON_216,
                     "2024-01 (Neuron 2.16.0)", batch=1, note="FP16 weights, bf16 matmuls; 5.1 ms per token",
                     engine="neuronx"),
    CalibrationPoint("llama-2-13b", "bf16", "Inferentia2", 12, 1, 128, 3968, 104.1, _NEURON_216,
                     "2024-01 (Neuron 2.16.0)", batch=1, note="9.6 ms per token", engine="neuronx"),
    CalibrationPoint("llama-2-70b", "bf16", "Inferentia2", 12, 1, 256, 256, 18.4, _NEURON_216,
                     "2024-01 (Neuron 2.16.0)", batch=1, note="54.2 ms per token", engine="neuronx"),
    CalibrationPoint("llama-2-70b", "bf16", "Inferentia2", 12, 1, 256, 2048, 10.3, _NEURON_216,
                     "2024-01 (Neuron 2.16.0)", batch=1, note="96.6 ms per token", engine="neuronx"),
)
