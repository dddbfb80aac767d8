"""`servestack verify`: load-test a live OpenAI-compatible endpoint against the workload's SLO and the plan.

The load generator needs httpx, imported only when a run starts, so `plan`, `estimate` and `catalog` never
pay for it.
"""

from servestack.verify.load import LoadConfig, LoadRun, RequestResult, arrival_times, make_prompt, run_load
from servestack.verify.report import MAX_ERROR_RATE, Predicted, Report, SloTargets, percentile, summarize

__all__ = [
    "LoadConfig",
    "LoadRun",
    "RequestResult",
    "arrival_times",
    "make_prompt",
    "run_load",
    "MAX_ERROR_RATE",
    "Predicted",
    "Report",
    "SloTargets",
    "percentile",
    "summarize",
]
