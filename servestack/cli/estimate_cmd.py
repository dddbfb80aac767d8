"""`servestack estimate`: how one replica of a model performs on N accelerators.

Exit codes: 0 the model fits (figures printed), 1 it does not fit (why is printed; with --json the
document still has `fits: false`), 2 bad input.
"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from servestack.errors import SpecError

if TYPE_CHECKING:
    from servestack.catalog.types import Accelerator

__all__ = ["add_parser", "run"]

_PRECISIONS = ("fp16", "bf16", "fp8", "int8", "int4")


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "estimate",
        help="memory fit and throughput of one replica on N accelerators",
        description="Give a workload SPEC, or --model/--precision/--input-tokens/--output-tokens.",
    )
    p.add_argument("spec", nargs="?", default=None, help="workload spec YAML (model, precision and lengths)")
    p.add_argument("--model", default=None, help="built-in model id, e.g. llama-3.1-70b")
    p.add_argument("--precision", default=None, help="fp16|bf16|fp8|int8|int4 (default bf16)")
    p.add_argument("--input-tokens", type=int, default=None, help="prompt tokens per request")
    p.add_argument("--output-tokens", type=int, default=None, help="generated tokens per request")
    p.add_argument("--accelerator", required=True, help="accelerator id or alias, e.g. H100, L4, A100-80GB")
    p.add_argument("--count", type=int, required=True, help="accelerators per node (tensor parallel)")
    p.add_argument("--nodes", type=int, default=1, help="nodes per replica (pipeline parallel; default 1)")
    p.add_argument("--json", action="store_true", help="print the Estimate JSON contract")
    p.set_defaults(func=run)


def _resolve_accelerator(name: str, count: int) -> Accelerator:
    """The catalog's accelerator record for an id or alias; `count` must fit on a node the catalog offers."""
    from servestack.catalog import load_catalog

    catalog = load_catalog()
    canonical = catalog.resolve_accelerator(name, field="--accelerator")
    accelerator: Accelerator = catalog.accelerators[canonical]
    sizes = sorted({o.accelerators_per_node for o in catalog.offerings if o.accelerator == canonical})
    if sizes and count > sizes[-1]:
        raise SpecError(
            "--count", count,
            f"accelerators per node; {canonical} nodes in the catalog have {', '.join(map(str, sizes))} "
            "(use --nodes to span nodes)",
        )
    return accelerator


def _positive(field: str, value: int | None) -> int:
    if value is None:
        raise SpecError(field, "<missing>", "required without a SPEC; a positive integer")
    if value < 1:
        raise SpecError(field, value, "a positive integer")
    return value


def run(args: argparse.Namespace) -> int:
    from servestack.cli.output import console, emit_json
    from servestack.sizing import estimate, measured_estimate
    from servestack.workload import KNOWN_MODELS, known_model, load_spec

    count = _positive("--count", args.count)
    nodes = _positive("--nodes", args.nodes)
    context: int | None = None
    if args.spec is not None:
        if args.model is not None:
            raise SpecError("--model", args.model, "give either a SPEC or --model, not both")
        spec = load_spec(args.spec)
        precision = args.precision or spec.model.precision
        # Like --precision, explicit lengths override the spec's averages rather than being ignored.
        input_tokens = spec.traffic.avg_input_tokens if args.input_tokens is None else _positive(
            "--input-tokens", args.input_tokens)
        output_tokens = spec.traffic.avg_output_tokens if args.output_tokens is None else _positive(
            "--output-tokens", args.output_tokens)
        arch = spec.model.resolved_architecture()
        context = spec.model.context_tokens
        measured = spec.model.measured
    else:
        if args.model is None:
            raise SpecError("--model", "<missing>", "give a SPEC or --model (built-in ids: "
                            + ", ".join(sorted(KNOWN_MODELS)) + ")")
        from servestack.errors import did_you_mean

        arch = known_model(args.model)
        if arch is None:
            raise SpecError("--model", args.model, f"unknown model{did_you_mean(args.model, KNOWN_MODELS)}; "
                            "built-in ids: " + ", ".join(sorted(KNOWN_MODELS)))
        precision = args.precision or "bf16"
        input_tokens = _positive("--input-tokens", args.input_tokens)
        output_tokens = _positive("--output-tokens", args.output_tokens)
        measured = None
    if precision not in _PRECISIONS:
        raise SpecError("--precision", precision, "allowed: " + ", ".join(_PRECISIONS))
    if arch is not None:
        limit = context if context is not None else arch.max_context_tokens
        if input_tokens + output_tokens > limit:
            raise SpecError(
                "--input-tokens", input_tokens,
                f"input + output tokens ({input_tokens + output_tokens}) exceed the context of {limit} tokens",
            )
    accelerator = _resolve_accelerator(args.accelerator, count)

    if arch is None:
        assert measured is not None  # the spec validates that a model has exactly one source
        if nodes != 1:
            raise SpecError("--nodes", nodes, "measured models are sized on one node only")
        m = measured_estimate(measured, accelerator, count)
        if m is None:
            raise SpecError("--accelerator", f"{accelerator.id} x {count}",
                            "model.measured.throughput has no figure for this accelerator and count")
        doc: dict[str, object] = {
            "fits": m.fits, "weights_gib": m.memory_gib, "kv_cache_bytes_per_token": None,
            "max_concurrent_sequences": None, "output_tokens_per_s": None,
            "requests_per_s": m.requests_per_s, "ttft_ms": None, "tpot_ms": None,
            "reason": m.reason, "latency_ms_p95": m.latency_ms_p95, "accelerator": accelerator.id,
            "accelerators": count,
        }
        if args.json:
            emit_json(doc)
        elif m.fits:
            console().print(f"{accelerator.id} x {count}: {m.requests_per_s:g} requests/s per replica at "
                            f"p95 latency {m.latency_ms_p95:g} ms (measured), {m.memory_gib:g} GiB")
        else:
            console().print(f"does not fit: {m.reason}")
        return 0 if m.fits else 1

    est = estimate(arch, precision, accelerator, count, nodes, input_tokens, output_tokens,
                   context_tokens=context, multi_node_network=nodes > 1)
    if args.json:
        doc = est.to_json()
        doc.update({"accelerator": accelerator.id, "precision": precision,
                    "input_tokens": input_tokens, "output_tokens": output_tokens})
        emit_json({k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in doc.items()})
        return 0 if est.fits else 1
    out = console()
    layout = f"{accelerator.id} x {count}" + (f" x {nodes} nodes" if nodes > 1 else "")
    out.print(f"[bold]{layout}[/bold], {precision}, {input_tokens} in / {output_tokens} out")
    out.print(f"  weights            {est.weights_gib:,.1f} GiB")
    out.print(f"  KV cache per token {est.kv_cache_bytes_per_token:,} bytes")
    if not est.fits:
        out.print(f"  [red]does not fit[/red]: {est.reason}")
        return 1
    out.print(f"  KV cache           {est.kv_cache_gib:,.1f} GiB, {est.max_concurrent_sequences} sequences at once")
    out.print(f"  saturated          {est.output_tokens_per_s:,.0f} output tok/s, {est.requests_per_s:,.2f} req/s")
    out.print(f"  at saturation      TTFT {est.ttft_ms:,.0f} ms, TPOT {est.tpot_ms:,.1f} ms")
    out.print(f"  single request     TTFT {est.ttft_at_batch_1_ms():,.0f} ms, TPOT {est.tpot_at_batch_1_ms():,.1f} ms")
    if est.emulated_precision:
        out.print(f"  note: {precision} runs weight-only on {accelerator.id} (dequantised to 16-bit math)")
    return 0
