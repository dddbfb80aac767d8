"""`servestack cost diff --base REF [-s STACK] [--markdown] [--json]`: what a change does to the monthly bill."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cost",
        help="compare monthly costs between a git revision and the working tree",
        description="Cost reports over the offline preview of the Pulumi program.",
    )
    sub = parser.add_subparsers(dest="cost_verb", metavar="SUBCOMMAND")
    sub.required = True
    diff = sub.add_parser(
        "diff",
        help="monthly cost per stack and per resource, before (git REF) and after (working tree)",
        description=(
            "Exports the project as committed at REF (git archive, read-only), runs the offline preview and "
            "costing of each stack on both sides, and prints the difference. Stacks default to those whose "
            "file changed (every stack when the program changed). Exit 0 whatever the costs: budgets are "
            "enforced by `servestack check`."
        ),
    )
    diff.add_argument("--base", required=True, metavar="REF", help="git branch, tag or commit to compare against")
    diff.add_argument(
        "-s", "--stack", action="append", default=None, help="stack to compare (repeatable; default: changed stacks)"
    )
    diff.add_argument("-C", "--cwd", default=".", help="the Pulumi project directory (default: current)")
    fmt = diff.add_mutually_exclusive_group()
    fmt.add_argument("--markdown", action="store_true", help="print a Markdown table for a pull-request comment")
    fmt.add_argument("--json", action="store_true", help="print the cost diff as JSON")
    parser.set_defaults(func=run)


def _print(diff: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from servestack.check.costdiff import format_delta, format_usd
    from servestack.cli.output import console

    out = console()
    if not diff.environments:
        out.print(f"No stack changed since {escape(diff.base)}.")
        return
    table = Table(title=f"Monthly cost (USD) vs {escape(diff.base)}")
    table.add_column("stack")
    for col in ("expected before", "expected after", "Δ expected", "ceiling before", "ceiling after", "Δ ceiling"):
        table.add_column(col, justify="right")
    for e in diff.environments:
        table.add_row(
            escape(e.stack),
            "(new)" if e.before is None else format_usd(e.before.expected),
            "(removed)" if e.after is None else format_usd(e.after.expected),
            format_delta(e.delta_expected),
            "(new)" if e.before is None else format_usd(e.before.ceiling),
            "(removed)" if e.after is None else format_usd(e.after.ceiling),
            format_delta(e.delta_ceiling),
        )
    out.print(table)
    from servestack.cli.check_cmd import print_showback

    for e in diff.environments:
        if e.after is not None:
            print_showback(out, e.after, title=f"{escape(e.stack)}: showback after")
    for e in diff.environments:
        for r in e.resources:
            if r.changed:
                out.print(
                    f"  {escape(e.stack)}  {escape(r.name)} ({escape(r.type)}): "
                    f"expected {format_delta(r.delta_expected)}, ceiling {format_delta(r.delta_ceiling)}"
                )


def run(args: argparse.Namespace) -> int:
    from servestack.check.costdiff import cost_diff, render_markdown

    diff = cost_diff(Path(args.cwd), args.base, args.stack)
    if args.json:
        from servestack.cli.output import emit_json

        emit_json(diff.to_json())
    elif args.markdown:
        import sys

        sys.stdout.write(render_markdown(diff))
    else:
        _print(diff)
    return 0
