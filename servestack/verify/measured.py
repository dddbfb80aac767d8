"""`verify --write-measured`: the spec again, with `model.measured` from the run, for `servestack plan`.

The spec model accepts exactly one of `model.id`, `model.architecture` and `model.measured`, and a plan
sizes a measured model from its figures alone. So the written spec *replaces* the id or architecture by the
measured block (a spec that kept both would be refused), and pins `model.checkpoint` to the release that
was measured, because a measured model has no built-in release to fall back on. `precision` and
`max_context_tokens` stay, and every other block (traffic, slo, placement, budget...) is copied unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servestack.errors import ServestackError, SpecError

__all__ = ["MeasuredPoint", "measured_spec_text", "write_measured"]


@dataclass(frozen=True, slots=True)
class MeasuredPoint:
    """One replica's measured operating point."""

    accelerator: str
    accelerators_per_replica: int
    requests_per_s: float
    """Achieved requests/s of the whole service divided by the replicas serving it."""
    latency_ms_p95: float
    memory_gib: float
    checkpoint: str


def measured_spec_text(spec_path: Path, point: MeasuredPoint, header: str) -> str:
    """The spec file's text with its model block replaced by the measured one (comments elsewhere kept)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    from servestack.workload import parse_spec

    y = YAML()  # round trip: the team's comments and key order survive
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    doc = y.load(spec_path.read_text(encoding="utf-8"))
    model = doc.get("model")
    if not isinstance(model, dict):
        raise SpecError("model", model, "a mapping")
    new_model = CommentedMap()
    new_model["checkpoint"] = point.checkpoint
    measured = CommentedMap()
    measured["memory_gib"] = round(point.memory_gib, 2)
    row = CommentedMap()
    row["accelerator"] = point.accelerator
    row["accelerators_per_replica"] = point.accelerators_per_replica
    row["requests_per_s"] = round(point.requests_per_s, 3)
    row["latency_ms_p95"] = round(point.latency_ms_p95, 1)
    row.fa.set_flow_style()
    measured["throughput"] = [row]
    new_model["measured"] = measured
    for key in ("precision", "max_context_tokens"):
        if key in model:
            new_model[key] = model[key]
    doc["model"] = new_model
    out = io.StringIO()
    y.dump(doc, out)
    text = "".join(f"# {line}\n" for line in header.splitlines()) + out.getvalue()
    parse_spec(text, source="the measured spec")  # never write a spec `plan` would refuse
    return text


def write_measured(path: Path, text: str, force: bool) -> None:
    if path.exists() and not force:
        raise ServestackError(f"--write-measured: {path} exists; pass --force to replace it")
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SpecError("--write-measured", str(path), f"a writable file path ({exc.strerror})") from None


def checkpoint_for(spec: Any, deployment: dict[str, Any]) -> str:
    """The release that was measured: the spec's checkpoint, the stack's, or the id's known release."""
    from servestack.contract.derive import spec_checkpoint

    serving = deployment.get("serving")
    if not spec.model.checkpoint and isinstance(serving, dict) and isinstance(serving.get("checkpoint"), str):
        if serving.get("quantization"):
            raise _quantized_on_load(serving["checkpoint"], spec.model.precision)
        return str(serving["checkpoint"])
    ckpt = spec_checkpoint(spec)
    if ckpt is None:
        raise SpecError("model.checkpoint", None, "name the release that was measured (owner/name) in the spec")
    if ckpt.quantization is not None:
        raise _quantized_on_load(ckpt.repository, spec.model.precision)
    return ckpt.repository


def _quantized_on_load(repo: str, precision: str) -> SpecError:
    # A measured model is served from its checkpoint as is; one quantized on load would be re-planned at 16 bits.
    return SpecError("model.checkpoint", repo,
                     f"this release is quantized to {precision} on load; a measured spec needs a release already at "
                     f"{precision}: set model.checkpoint to one in the spec")
