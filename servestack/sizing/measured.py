"""Sizing for models described only by measured figures (`model.measured` in the spec)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from servestack.catalog.types import Accelerator

if TYPE_CHECKING:
    from servestack.workload.spec import MeasuredSpec

__all__ = ["MeasuredEstimate", "measured_estimate"]


@dataclass(frozen=True, slots=True)
class MeasuredEstimate:
    """A replica's capacity taken from the user's own measurement on this accelerator and count."""

    fits: bool
    reason: str | None
    memory_gib: float
    """Accelerator memory one replica needs, GiB (from the spec)."""
    requests_per_s: float
    latency_ms_p95: float
    accelerators: int


def _matches(name: str, accelerator: Accelerator) -> bool:
    wanted = name.strip().lower()
    return wanted == accelerator.id.lower() or wanted in (a.lower() for a in accelerator.aliases)


def measured_estimate(measured: MeasuredSpec, accelerator: Accelerator, count: int) -> MeasuredEstimate | None:
    """The measured figure for `count` x `accelerator`, None when the spec has no figure for that layout.

    The figures are used as given: no scaling to other accelerators or counts, because the analytic model
    cannot describe these models. Memory fits when the replica's devices together hold `memory_gib`.
    """
    for point in measured.throughput:
        if point.accelerators_per_replica != count or not _matches(point.accelerator, accelerator):
            continue
        available = accelerator.memory_gib * count
        fits = measured.memory_gib <= available
        reason = None if fits else (
            f"the model needs {measured.memory_gib:g} GiB, {count} x {accelerator.id} have {available:g} GiB"
        )
        return MeasuredEstimate(
            fits=fits, reason=reason, memory_gib=measured.memory_gib,
            requests_per_s=point.requests_per_s if fits else 0.0,
            latency_ms_p95=point.latency_ms_p95, accelerators=count,
        )
    return None
