"""`servestack check [-s STACK] [--policy-config FILE] [--policy-pack DIR] [--timeout S] [--strict] [--json]`.

The policy verdict on a stack, offline: the installed servestack's packs, plus any named with --policy-pack.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="judge a stack with the budget and guardrails policy packs, offline",
        description=(
            "Runs the Pulumi Python program of the current directory (or --cwd) in its own process against an "
            "offline engine, starts each policy pack as its own process and drives it over the analyzer protocol "
            "the Pulumi CLI uses, so the verdict is the one `pulumi preview --policy-pack` gives. The budget and "
            "guardrails packs are always those of the installed servestack, never a copy in the project. "
            "No Pulumi CLI or cloud credentials needed. Exit 1 when any mandatory policy is violated or the "
            "program fails, exits early or overruns --timeout."
        ),
    )
    parser.add_argument("-s", "--stack", default=None, help="stack name (default: the only stack with a file)")
    parser.add_argument("-C", "--cwd", default=".", help="the Pulumi project directory (default: current)")
    parser.add_argument(
        "--policy-config",
        default=None,
        metavar="FILE",
        help='policy config JSON in the Pulumi CLI format: {"all": "mandatory", "<policy>": {...}}',
    )
    parser.add_argument(
        "--policy-pack",
        action="append",
        default=None,
        metavar="DIR",
        help="a project's own policy pack directory, run in addition to the installed budget and guardrails "
        "packs (repeatable)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="fail the check when the program runs longer (default: 300)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when the offline engine could not evaluate a resource (Helm releases, provider-built components)",
    )
    parser.add_argument("--json", action="store_true", help="print the check JSON document")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    """--timeout: a positive, finite number of seconds."""
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid; allowed: a positive number of seconds")
    return value


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _print(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from servestack.cli.output import console

    out = console()
    packs = ", ".join(f"{p.name}@{p.version}" + (" (project)" if p.source == "project" else "") for p in result.packs)
    out.print(f"[bold]{escape(result.project)}[/bold] / stack [bold]{escape(result.stack)}[/bold]  packs: {packs}")
    if result.violations:
        table = Table(title="Policy violations", show_lines=False)
        for col in ("level", "policy", "pack", "resource", "message"):
            table.add_column(col, overflow="fold")
        for v in result.violations:
            colour = "red" if v.enforcement == "mandatory" else "yellow"
            level = f"[{colour}]{v.enforcement}[/{colour}]"
            table.add_row(level, escape(v.policy), escape(v.pack), escape(v.urn or "(stack)"), escape(v.message))
        out.print(table)
    else:
        out.print("No policy violations.")

    costs = result.costs
    if costs.lines:
        table = Table(title="Monthly cost (USD)")
        table.add_column("resource", overflow="fold")
        table.add_column("type", overflow="fold")
        table.add_column("item")
        table.add_column("expected", justify="right")
        table.add_column("ceiling", justify="right")
        for line in costs.lines:
            table.add_row(
                escape(line.name), escape(line.type), line.item, _money(line.expected), _money(line.ceiling)
            )
        out.print(table)
    budget = f", budget {_money(result.budget_usd)}" if result.budget_usd is not None else ""
    out.print(f"[bold]Monthly cost[/bold]: expected {_money(costs.expected)}, ceiling {_money(costs.ceiling)}{budget}")
    for note in result.notes:
        out.print(f"  [dim]{escape(note)}[/dim]")
    print_showback(out, costs)
    for note in result.pack_notes:
        out.print(f"[yellow]note[/yellow]: {escape(note)}")
    print_unevaluated(out, result.unevaluated, strict=result.strict)
    print_program_output(out, result.program_output)
    n = len(result.mandatory)
    blind = len(result.unevaluated) if result.strict else 0
    if n or blind:
        reasons = []
        if n:
            reasons.append(f"{n} mandatory violation{'s' if n != 1 else ''}")
        if blind:
            reasons.append(f"{blind} unevaluated resource{'s' if blind != 1 else ''} (--strict)")
        out.print(f"[red bold]FAILED[/red bold]: {', '.join(reasons)}")
    else:
        out.print("[green bold]PASSED[/green bold]")


def print_showback(out: Any, costs: Any, title: str = "Showback") -> None:
    """Each workload's share of the stack's monthly cost, when several workloads share it (one workload's share
    is the whole bill, already printed)."""
    from rich.markup import escape
    from rich.table import Table

    show = costs.showback
    if show is None or len(show.shares) < 2:
        return
    table = Table(title=f"{title} (USD/month; {show.rule})")
    for col in ("workload", "team", "cost center"):
        table.add_column(col, overflow="fold")
    for col in ("GPU", "own", "shared", "total expected", "total ceiling"):
        table.add_column(col, justify="right")
    for share in show.shares:
        owner = costs.owners.get(share.workload)
        table.add_row(
            escape(share.workload), escape((owner and owner.team) or "-"), escape((owner and owner.cost_center) or "-"),
            _money(share.gpu_expected), _money(share.direct_expected), _money(share.shared_expected),
            _money(share.expected), _money(share.ceiling),
        )
    table.caption = (f"shared cluster: {_money(show.shared_expected)} expected, {_money(show.shared_ceiling)} "
                     "ceiling, split between the workloads above")
    out.print(table)


def print_unevaluated(out: Any, unevaluated: list[dict[str, str]], *, strict: bool) -> None:
    """What the verdict does not cover, one line each."""
    from rich.markup import escape

    if not unevaluated:
        return
    colour = "red" if strict else "yellow"
    out.print(f"[{colour}]Not evaluated offline[/{colour}] (the verdict does not cover what these create):")
    for u in unevaluated:
        out.print(f"  {escape(u['type'])}  {escape(u['urn'] or '(invoke)')}: {escape(u['reason'])}")


def print_program_output(out: Any, lines: list[str]) -> None:
    from rich.markup import escape

    if not lines:
        return
    out.print("[dim]Program output:[/dim]")
    for line in lines:
        out.print(f"  [dim]{escape(line)}[/dim]", soft_wrap=True, highlight=False)


def run(args: argparse.Namespace) -> int:
    from servestack.check import run_check
    from servestack.preview import ProgramError

    project_packs = [Path(p) for p in args.policy_pack or ()]
    config = Path(args.policy_config) if args.policy_config else None
    try:
        result = run_check(
            Path(args.cwd),
            args.stack,
            config,
            project_packs=project_packs,
            timeout_s=args.timeout,
            strict=args.strict,
        )
    except ProgramError as exc:
        if os.environ.get("SERVESTACK_DEBUG") == "1" and exc.program_traceback:
            sys.stderr.write(exc.program_traceback)
        raise
    if os.environ.get("SERVESTACK_DEBUG") == "1":
        timings = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings_s.items())
        print(f"timings: {timings}", file=sys.stderr)
    if args.json:
        from servestack.cli.output import emit_json

        emit_json(result.to_json())
    else:
        _print(result)
    return 0 if result.passed else 1
