"""`servestack verify`: an open-loop load test of the live endpoint against the SLO and the plan's estimate."""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from servestack.errors import SpecError

if TYPE_CHECKING:
    from servestack.verify.load import Api, LoadConfig, LoadRun
    from servestack.verify.report import Predicted, Report
    from servestack.verify.sources import StackFacts, Target

__all__ = ["add_parser", "run", "endpoint_url"]

_MAX_REQUESTS = 1_000_000


def add_parser(sub: Any) -> None:
    p = sub.add_parser("verify", help="load-test the live endpoint against the workload's SLO and the plan")
    p.add_argument("spec", nargs="?", default=None, help="workload spec YAML (optional with -s: read from the stack)")
    p.add_argument("-s", "--stack", dest="env", default=None, help="stack name: traffic, SLO, model and "
                   "deployment from stacks/Pulumi.<env>.yaml, endpoint from its `endpoint` output")
    p.add_argument("--workload", default=None, metavar="NAME", help="with -s on a stack serving several workloads: "
                   "the workload to test (its pool's entry of the `endpoints` output)")
    p.add_argument("-C", "--cwd", dest="project_dir", default=".", help="Pulumi project directory (default: current)")
    p.add_argument("--endpoint", default=None, help="base URL of the OpenAI-compatible server, e.g. http://host:8000")
    p.add_argument("--rate", default="avg", help="offered load: avg, peak (the spec's rates) or req/s (default avg)")
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds after the warm-up (default 60)")
    p.add_argument("--warmup", type=float, default=10.0, help="seconds of load sent first and not counted (default 10)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="longest one request may take, seconds (default 60); the run ends at most this long "
                   "after its last arrival")
    p.add_argument("--api", choices=("completions", "chat"), default="completions",
                   help="/v1/completions or /v1/chat/completions (default completions)")
    p.add_argument("--model", default=None, help="served model name (default: the workload name, as plan --write "
                   "stacks serve it)")
    p.add_argument("--no-ignore-eos", dest="ignore_eos", action="store_false",
                   help="do not send vLLM's ignore_eos (it is dropped by itself if the server refuses it)")
    p.add_argument("--seed", type=int, default=0, help="seed of arrivals and prompts (default 0)")
    p.add_argument("--write-measured", default=None, metavar="FILE",
                   help="write the spec with model.measured from this run, for `servestack plan`")
    p.add_argument("--force", action="store_true", help="with --write-measured: replace an existing FILE")
    p.add_argument("--accelerator", default=None, help="with --write-measured: accelerator measured (default: stack)")
    p.add_argument("--count", type=int, default=None,
                   help="with --write-measured: accelerators per replica (default: stack's TP x nodes per replica)")
    p.add_argument("--replicas", type=int, default=None,
                   help="with --write-measured: replicas that served the run (default: stack's replicasMin)")
    p.add_argument("--memory-gib", type=float, default=None,
                   help="with --write-measured: accelerator memory a replica needs (default: the model's weights)")
    p.add_argument("--json", action="store_true", help="print the verify JSON")
    p.set_defaults(func=run)


def endpoint_url(endpoint: str, api: Api) -> tuple[str, Api]:
    """The route to load: a base URL gets /v1/completions or /v1/chat/completions; a full route is kept."""
    raw = endpoint.strip()
    if "://" not in raw:
        raw = "http://" + raw  # a stack output is often a bare host name
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SpecError("--endpoint", endpoint, "an http(s) URL such as http://10.0.0.5:8000")
    path = parts.path.rstrip("/")
    if path.endswith("/v1/chat/completions"):
        return urlunsplit(parts._replace(path=path)), "chat"
    if path.endswith("/v1/completions"):
        return urlunsplit(parts._replace(path=path)), "completions"
    path = path.removesuffix("/v1")
    route = "/v1/chat/completions" if api == "chat" else "/v1/completions"
    return urlunsplit(parts._replace(path=path + route, query="", fragment="")), api


def _rate(value: str, target: Target) -> float:
    if value == "avg":
        return target.avg_requests_per_s
    if value == "peak":
        return target.peak_requests_per_s
    try:
        rate = float(value)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise SpecError("--rate", value, "avg, peak, or a positive number of requests/s")
    return rate


def run(args: argparse.Namespace) -> int:
    from servestack.verify.load import LoadClass, LoadConfig
    from servestack.verify.sources import check_positive, predict, read_stack, target_from_spec, target_from_stack

    if args.spec is None and args.env is None:
        raise SpecError("spec", "<missing>", "give a SPEC file with --endpoint URL, or -s ENV for a written stack")
    duration = check_positive("--duration", args.duration)
    warmup = check_positive("--warmup", args.warmup, allow_zero=True)
    timeout = check_positive("--timeout", args.timeout)
    _check_measured_flags(args)
    project = Path(args.project_dir)
    if args.workload is not None and args.env is None:
        raise SpecError("--workload", args.workload, "used with -s ENV (a stack serving several workloads)")
    stack = read_stack(project, args.env, args.workload) if args.env is not None else None
    target = target_from_spec(args.spec) if args.spec is not None else target_from_stack(_some(stack))
    rate = _rate(args.rate, target)
    if rate * duration < 1:
        raise SpecError("--duration", duration, f"at {rate:g} requests/s, long enough for at least one request")
    if rate * (duration + warmup) > _MAX_REQUESTS:
        raise SpecError("--rate", args.rate, f"at most {_MAX_REQUESTS:,} requests in a run; shorten --duration")
    if args.endpoint is None and stack is None:
        raise SpecError("--endpoint", "<missing>", "the server's base URL, e.g. http://10.0.0.5:8000 (or use -s ENV)")
    if args.endpoint is not None:
        endpoint = args.endpoint
    else:
        from servestack.verify.sources import stack_base_url, stack_endpoint, stack_router_url

        facts = _some(stack)
        if len(facts.pools) > 1:
            # A mixed fleet: its pools sit behind the router, so the load takes the path a client's would.
            endpoint = stack_router_url(project, facts, target.name)
        else:
            endpoint = stack_base_url(facts, stack_endpoint(project, facts.env, facts.pool))
    url, api = endpoint_url(endpoint, args.api)
    config = LoadConfig(
        url=url, api=api, model=args.model or target.name, rate=rate, duration_s=duration, warmup_s=warmup,
        timeout_s=timeout, input_words=target.input_tokens, max_tokens=target.output_tokens,
        ignore_eos=args.ignore_eos, seed=args.seed,
        classes=tuple(LoadClass(name, share, words, tokens) for name, share, words, tokens in target.classes),
    )
    predicted, note = predict(target, stack)
    layout = _measured_layout(args, target, stack, predicted) if args.write_measured is not None else None
    load_run = _run_with_progress(config)

    from servestack.verify.report import summarize

    report = summarize(load_run, target.slo, predicted, note)
    if args.json:
        from servestack.cli.output import emit_json

        emit_json(report.to_json())
    else:
        _print_report(report)
    _explain_failures(report, load_run)
    if layout is not None:
        _write_measured(args, layout, report)
    return 0 if report.slo_met else 1


def _some(stack: StackFacts | None) -> StackFacts:
    assert stack is not None
    return stack


def _check_measured_flags(args: argparse.Namespace) -> None:
    if args.write_measured is None:
        for flag, value in (("--accelerator", args.accelerator), ("--count", args.count),
                            ("--replicas", args.replicas), ("--memory-gib", args.memory_gib)):
            if value is not None:
                raise SpecError(flag, value, "only used with --write-measured FILE")
        return
    if args.spec is None:
        raise SpecError("--write-measured", args.write_measured, "needs the SPEC file to write a measured copy of")
    if Path(args.write_measured).exists() and not args.force:
        from servestack.errors import ServestackError

        raise ServestackError(f"--write-measured: {args.write_measured} exists; pass --force to replace it")
    for flag, value in (("--count", args.count), ("--replicas", args.replicas)):
        if value is not None and value < 1:
            raise SpecError(flag, value, "a positive whole number")
    if args.memory_gib is not None:
        from servestack.verify.sources import check_positive

        check_positive("--memory-gib", args.memory_gib)


def _run_with_progress(config: LoadConfig) -> LoadRun:
    from servestack.verify.load import run_load

    if not sys.stderr.isatty():
        return run_load(config)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from servestack.cli.output import err_console

    total = config.warmup_s + config.duration_s
    with Progress(TextColumn("[bold]verify[/] {task.description}"), BarColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[status]}"), console=err_console(), transient=True) as bar:
        task = bar.add_task(f"{config.rate:g} req/s", total=total, status="")

        def tick(elapsed: float, done: int, errors: int) -> None:
            phase = "warm-up" if elapsed < config.warmup_s else ("measuring" if elapsed < total else "draining")
            bar.update(task, completed=min(elapsed, total), status=f"{phase}: {done} done, {errors} errors")

        return run_load(config, tick)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _print_report(report: Report) -> None:
    from rich.table import Table

    from servestack.cli.output import console

    d = report.to_json()
    out = console()
    table = Table(title=f"servestack verify: {d['model']} at {d['offered_requests_per_s']:g} req/s offered "
                        f"({d['duration_s']:g} s measured after {d['warmup_s']:g} s warm-up)")
    for col in ("metric", "p50", "p95", "p99", "SLO p95", "met", "predicted", "p95/pred"):
        table.add_column(col, justify="left" if col in ("metric", "met") else "right", no_wrap=True)
    pred = d["predicted"]
    for metric, key in (("TTFT ms", "ttft_ms"), ("TPOT ms", "tpot_ms"), ("latency ms", "latency_ms")):
        dist = d[key]
        slo = d["slo"].get(f"{key}_p95")
        met = "-" if slo is None else ("[green]yes[/]" if slo["met"] else "[red]no[/]")
        p = pred.get(key) if key != "latency_ms" else None
        ratio = pred.get(key.replace("_ms", "_ratio")) if key != "latency_ms" else None
        table.add_row(metric, _fmt(dist["p50"]), _fmt(dist["p95"]), _fmt(dist["p99"]),
                      _fmt(slo["target"] if slo else None), met, _fmt(p), _fmt(ratio, 2))
    out.print(table)
    out.print(f"requests: {d['requests']} measured ({d['warmup_requests']} warm-up), errors: {d['errors']} "
              f"({d['error_rate']:.1%}){' ' + str(d['error_kinds']) if d['error_kinds'] else ''}")
    out.print(f"throughput: {d['requests_per_s']:,.2f} req/s, {d['output_tokens_per_s']:,.1f} output tokens/s "
              f"({_fmt(d['mean_output_tokens'])} tokens per request)")
    if pred.get("source"):
        out.print(f"predicted by: {pred['source']}")
    elif pred.get("note"):
        out.print(f"predicted: none ({pred['note']})")
    verdict = "[bold green]SLO met[/]" if d["slo_met"] else "[bold red]SLO not met[/]"
    out.print(verdict)


def _explain_failures(report: Report, load_run: LoadRun) -> None:
    """Name why a run failed on stderr, so a dead or stuck endpoint reads as such, not as a latency figure."""
    d = report.to_json()
    msgs: list[str] = []
    if d["requests"] and d["errors"] == d["requests"]:
        msgs.append(f"no request succeeded: {d['errors']} of {d['requests']} failed {d['error_kinds']}; "
                    f"first error: {d['first_error']}")
    elif d["error_rate"] > 0.01:
        msgs.append(f"{d['error_rate']:.1%} of requests failed (more than 1 %): {d['error_kinds']}; "
                    f"first error: {d['first_error']}")
    if load_run.hit_deadline:
        msgs.append(f"the run deadline ({load_run.config.deadline_s:g} s: warm-up + duration + --timeout) ended "
                    "requests still in flight; they count as timeouts")
    if d["warmup_shorter_than_latency"]:
        msgs.append("the warm-up is shorter than the median request latency, so the measured window started "
                    "before the service reached steady state: throughput reads low; raise --warmup")
    if load_run.ignore_eos_refused:
        msgs.append("the server refused ignore_eos; later requests were sent without it, so output lengths follow "
                    "the model rather than the spec")
    for msg in msgs:
        print(f"verify: {msg}", file=sys.stderr)


@dataclass(frozen=True, slots=True)
class _MeasuredLayout:
    """What --write-measured records besides the run's figures: what served it."""

    accelerator: str
    count: int
    replicas: int
    memory_gib: float
    checkpoint: str


def _measured_layout(args: argparse.Namespace, target: Target, stack: StackFacts | None,
                     predicted: Predicted | None) -> _MeasuredLayout:
    """Resolved before the run, so a missing flag costs no load test."""
    from servestack.catalog import load_catalog
    from servestack.verify.measured import checkpoint_for

    deployment = stack.deployment if stack is not None else {}
    accelerator = args.accelerator or deployment.get("accelerator")
    if not isinstance(accelerator, str):
        raise SpecError("--accelerator", None, "name the accelerator that served the run (no stack deployment)")
    accelerator = load_catalog().resolve_accelerator(accelerator, field="--accelerator")
    count = args.count or _whole(deployment.get("tensorParallel")) * _whole(deployment.get("nodesPerReplica", 1))
    if count < 1:
        raise SpecError("--count", None, "give the accelerators per replica (no stack deployment)")
    replicas = args.replicas or _whole(deployment.get("replicasMin"))
    if replicas < 1:
        raise SpecError("--replicas", None, "give the replicas that served the run (no stack deployment)")
    memory = args.memory_gib or _memory_gib(target, stack, predicted)
    if memory is None:
        raise SpecError("--memory-gib", None, "give the accelerator memory one replica needs (GiB)")
    return _MeasuredLayout(accelerator, count, replicas, memory, checkpoint_for(target.spec, deployment))


def _write_measured(args: argparse.Namespace, layout: _MeasuredLayout, report: Report) -> None:
    import datetime

    from servestack.verify.measured import MeasuredPoint, measured_spec_text, write_measured

    d = report.to_json()
    latency = d["latency_ms"]["p95"]
    if latency is None or d["requests_per_s"] <= 0:
        print("verify: nothing completed in the measured window; --write-measured wrote nothing", file=sys.stderr)
        return
    point = MeasuredPoint(layout.accelerator, layout.count, d["requests_per_s"] / layout.replicas, latency,
                          layout.memory_gib, layout.checkpoint)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"model.measured from `servestack verify` at {stamp}: {d['requests_per_s']:g} req/s achieved over "
              f"{layout.replicas} replica(s) at {d['offered_requests_per_s']:g} req/s offered, "
              f"p95 latency {latency:g} ms")
    text = measured_spec_text(Path(args.spec), point, header)
    write_measured(Path(args.write_measured), text, args.force)
    if not args.json:
        print(f"wrote {args.write_measured}: {point.requests_per_s:.3g} req/s per replica on "
              f"{layout.count} x {layout.accelerator}, p95 latency {latency:g} ms", file=sys.stderr)


def _whole(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _memory_gib(target: Target, stack: StackFacts | None, predicted: Predicted | None) -> float | None:
    """The model's weights: from the stack (as plan --write recorded them), else from the plan's estimate."""
    if stack is not None:
        model = stack.workload.get("model")
        if isinstance(model, dict) and isinstance(model.get("weightsGib"), (int, float)):
            return float(model["weightsGib"])
    if target.spec is not None and target.spec.model.measured is not None:
        return float(target.spec.model.measured.memory_gib)
    return predicted.weights_gib if predicted is not None else None
