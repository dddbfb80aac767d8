"""The performance model: does a model fit on N accelerators, and how fast does one replica serve it.

Uses only `servestack.workload` and `servestack.catalog` (no Pulumi). See docs/performance-model.md.
"""

from servestack.sizing.measured import MeasuredEstimate, measured_estimate
from servestack.sizing.model import (
    Estimate,
    OperatingPoint,
    compute_path,
    estimate,
    kv_bytes_per_element,
    kv_cache_dtype,
    precision_supported,
    weight_bytes_per_param,
)

__all__ = [
    "Estimate",
    "OperatingPoint",
    "estimate",
    "MeasuredEstimate",
    "measured_estimate",
    "compute_path",
    "kv_bytes_per_element",
    "kv_cache_dtype",
    "precision_supported",
    "weight_bytes_per_param",
]
