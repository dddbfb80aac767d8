"""Names of the metrics the alerts and the dashboard read, pinned to what the deployed exporters publish.

vLLM: the names of the image servestack deploys (servestack.components.config.DEFAULT_IMAGE, v0.11.0), read from
vllm/v1/metrics/loggers.py. v0.11 renamed the TPOT histogram `vllm:time_per_output_token_seconds` to
`vllm:inter_token_latency_seconds` (the old name is deprecated in 0.11, hidden in 0.12, removed in 0.13), and
replaced `vllm:gpu_cache_usage_perc` with `vllm:kv_cache_usage_perc` (since 0.9): the new names are used so the
rules keep working across the next upgrades. Every vLLM series carries `model_name` (the served model name).
`http_requests_total` (labels handler, method, status as "2xx"/"5xx") comes from the API server's
prometheus-fastapi-instrumentator; Prometheus' `kubernetes-pods` job adds `namespace` and `pod`.

DCGM: the exporter's default counters (etc/default-counters.csv of NVIDIA/dcgm-exporter); each series carries
`gpu`, `UUID` and `Hostname` (the node).
"""

from __future__ import annotations

__all__ = [
    "VLLM_IMAGE_VERSION",
    "TTFT_BUCKET",
    "TPOT_BUCKET",
    "E2E_BUCKET",
    "REQUESTS_WAITING",
    "REQUESTS_RUNNING",
    "KV_CACHE_USAGE",
    "REQUEST_SUCCESS",
    "GENERATION_TOKENS",
    "PROMPT_TOKENS",
    "HTTP_REQUESTS",
    "GPU_UTIL",
    "GPU_FB_USED",
    "GPU_TEMP",
    "GPU_XID",
    "VLLM_METRICS",
    "DCGM_METRICS",
]

VLLM_IMAGE_VERSION = "v0.11.0"
"""The vLLM release these names were read from; a test keeps it equal to the image the stacks deploy."""

TTFT_BUCKET = "vllm:time_to_first_token_seconds_bucket"
TPOT_BUCKET = "vllm:inter_token_latency_seconds_bucket"
E2E_BUCKET = "vllm:e2e_request_latency_seconds_bucket"
REQUESTS_WAITING = "vllm:num_requests_waiting"
REQUESTS_RUNNING = "vllm:num_requests_running"
KV_CACHE_USAGE = "vllm:kv_cache_usage_perc"
"""Fraction 0-1 of KV-cache blocks in use."""
REQUEST_SUCCESS = "vllm:request_success_total"
"""Finished requests by `finished_reason` (stop, length, abort)."""
GENERATION_TOKENS = "vllm:generation_tokens_total"
PROMPT_TOKENS = "vllm:prompt_tokens_total"
HTTP_REQUESTS = "http_requests_total"

GPU_UTIL = "DCGM_FI_DEV_GPU_UTIL"
"""GPU utilisation, %."""
GPU_FB_USED = "DCGM_FI_DEV_FB_USED"
"""Framebuffer (GPU memory) used, MiB."""
GPU_TEMP = "DCGM_FI_DEV_GPU_TEMP"
"""GPU temperature, degrees C."""
GPU_XID = "DCGM_FI_DEV_XID_ERRORS"
"""Code of the last XID error the driver reported (0: none)."""

VLLM_METRICS = frozenset(
    {TTFT_BUCKET, TPOT_BUCKET, E2E_BUCKET, REQUESTS_WAITING, REQUESTS_RUNNING, KV_CACHE_USAGE, REQUEST_SUCCESS,
     GENERATION_TOKENS, PROMPT_TOKENS, HTTP_REQUESTS}
)
DCGM_METRICS = frozenset({GPU_UTIL, GPU_FB_USED, GPU_TEMP, GPU_XID})
