"""`servestack preview [-s STACK] [--json]`: the resource graph of the Pulumi program, offline."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="run the Pulumi program offline and show its resources",
        description=(
            "Runs the Pulumi Python program of the current directory (or --cwd) with its stack config in its own "
            "process, against an offline engine that answers for the providers: no Pulumi CLI, plugins or cloud "
            "credentials needed. Secret config values are never decrypted; secrets are shown as [secret]. "
            "Exit 1 when the program fails, exits early or overruns --timeout."
        ),
    )
    parser.add_argument("-s", "--stack", default=None, help="stack name (default: the only stack with a file)")
    parser.add_argument("-C", "--cwd", default=".", help="the Pulumi project directory (default: current)")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="fail when the program runs longer (default: 300)",
    )
    parser.add_argument("--json", action="store_true", help="print the preview JSON document")
    parser.set_defaults(func=run)


def _seconds(text: str) -> float:
    from servestack.cli.check_cmd import _seconds as parse

    return parse(text)


def _money(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.0f}"


def _print_tree(result: Any) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    from servestack.cli.output import console
    from servestack.preview.summary import children_by_parent, key_inputs

    grouped = children_by_parent(result.resources)
    root = Tree(
        f"[bold]{escape(result.project)}[/bold] / stack [bold]{escape(result.stack)}[/bold]  "
        f"({len(result.resources)} resources)"
    )

    def add(node: Any, parent: str | None) -> None:
        for res in grouped.get(parent, []):
            label = f"[cyan]{escape(res.type)}[/cyan]  {escape(res.name)}"
            branch = node.add(label)
            for path, text in key_inputs(res):
                branch.add(f"[dim]{escape(path)}[/dim] = {escape(text)}")
            add(branch, res.urn)

    add(root, None)
    out = console()
    out.print(root)
    if result.outputs:
        out.print("[bold]Outputs[/bold]")
        for key, value in result.outputs.items():
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            out.print(f"  {escape(key)}: {escape(text)}", soft_wrap=True)
    out.print(
        f"[bold]Monthly cost[/bold]: expected {_money(result.monthly_usd_expected)}, "
        f"ceiling {_money(result.monthly_usd_ceiling)}"
    )
    for note in result.notes:
        out.print(f"  [dim]{escape(note)}[/dim]")
    from servestack.cli.check_cmd import print_program_output, print_unevaluated

    print_unevaluated(out, result.unevaluated, strict=False)
    print_program_output(out, result.program_output)


def run(args: argparse.Namespace) -> int:
    from servestack.preview import ProgramError, preview_json, run_preview

    try:
        result = run_preview(Path(args.cwd), args.stack, timeout_s=args.timeout)
    except ProgramError as exc:
        if os.environ.get("SERVESTACK_DEBUG") == "1" and exc.program_traceback:
            sys.stderr.write(exc.program_traceback)
        raise
    if args.json:
        from servestack.cli.output import emit_json

        emit_json(preview_json(result))
    else:
        _print_tree(result)
    return 0
