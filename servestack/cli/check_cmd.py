"""`servestack check [-s STACK] [--policy-config FILE] [--json]`: the policy verdict on a stack, offline."""

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
            "Runs the Pulumi Python program of the current directory (or --cwd) offline, starts each policy pack "
            "as its own process and drives it over the analyzer protocol the Pulumi CLI uses, so the verdict is "
            "the one `pulumi preview --policy-pack` gives. No Pulumi CLI or cloud credentials needed. "
            "Exit 1 when any mandatory policy is violated."
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
        help="a policy pack directory (repeatable; default: the budget and guardrails packs)",
    )
    parser.add_argument("--json", action="store_true", help="print the check JSON document")
    parser.set_defaults(func=run)


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def _print(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from servestack.cli.output import console

    out = console()
    packs = ", ".join(f"{p.name}@{p.version}" for p in result.packs)
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
    n = len(result.mandatory)
    if n:
        out.print(f"[red bold]FAILED[/red bold]: {n} mandatory violation{'s' if n != 1 else ''}")
    else:
        out.print("[green bold]PASSED[/green bold]")


def run(args: argparse.Namespace) -> int:
    from servestack.check import run_check
    from servestack.preview import ProgramError

    packs = [Path(p) for p in args.policy_pack] if args.policy_pack else None
    config = Path(args.policy_config) if args.policy_config else None
    try:
        result = run_check(Path(args.cwd), args.stack, config, packs)
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
