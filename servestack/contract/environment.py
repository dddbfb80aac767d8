"""Environment kind as an input of the plan: a development stack is planned under the dev policy from the start.

The budget pack's dev-spot-only policy holds development stacks to spot GPU capacity, so planning one on
on-demand or committed capacity would only produce a stack the pack then rejects. Staging and prod plan the
spec as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from servestack.workload import WorkloadSpec

__all__ = ["KINDS", "spec_for_environment", "environment_adjustments"]

KINDS = ("dev", "staging", "prod")


def environment_adjustments(spec: WorkloadSpec, kind: str) -> list[str]:
    """What planning for `kind` changes in `spec`, one sentence per field (empty when nothing)."""
    if kind != "dev":
        return []
    out = []
    if spec.pricing.spot != "only":
        out.append(f"pricing.spot {spec.pricing.spot} -> only (development stacks run on spot: dev-spot-only)")
    if spec.pricing.commitment != "none":
        out.append(f"pricing.commitment {spec.pricing.commitment} -> none (a spot-only stack commits nothing)")
    return out


def spec_for_environment(spec: WorkloadSpec, kind: str) -> WorkloadSpec:
    """`spec` as planned for an environment of `kind` (see the module doc)."""
    if not environment_adjustments(spec, kind):
        return spec
    pricing = spec.pricing.model_copy(update={"spot": "only", "commitment": "none"})
    return spec.model_copy(update={"pricing": pricing})
