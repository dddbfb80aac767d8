"""`servestack preflight -s ENV [-C DIR] [--json]`: can this stack launch? Quotas, zones, spot, APIs - live."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servestack.preflight import Report

__all__ = ["add_parser", "run"]

_MARK = {"pass": ("pass", "green"), "fail": ("FAIL", "red"), "unknown": ("unknown", "yellow")}


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="check the stack against the cloud's quotas, zones and APIs before `pulumi up`",
        description=(
            "Asks the live cloud APIs, with your credentials, whether the stack in stacks/Pulumi.<env>.yaml can "
            "launch: GPU quotas at peak (AWS Service Quotas; GCP regional, preemptible and all-region GPU quotas), "
            "the instance or accelerator type in each chosen zone, spot placement scores (AWS), required APIs "
            "(GCP). boto3's standard configuration applies (AWS_PROFILE, AWS_ENDPOINT_URL). Exit 1 when a check "
            "fails, 2 for bad input or missing credentials; checks the cloud refused are reported as unknown."
        ),
    )
    parser.add_argument("-s", "--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    parser.add_argument("-C", "--cwd", default=".", help="the Pulumi project directory (default: current)")
    parser.add_argument("--json", action="store_true", help="print {stack, ok, checks: [...]}")
    parser.set_defaults(func=run)


def _print(report: Report) -> None:
    from rich.markup import escape

    from servestack.cli.output import console

    out = console()
    out.print(f"[bold]servestack preflight[/bold]: stack {escape(report.stack)}")
    for c in report.checks:
        word, colour = _MARK[c.status]
        out.print(f"  [{colour}]{word:<7}[/{colour}]  {escape(c.check)}: {escape(c.detail)}", soft_wrap=True)
        if c.fix and c.status != "pass":
            out.print(f"           fix: {escape(c.fix)}", soft_wrap=True)
    failed = sum(c.status == "fail" for c in report.checks)
    unknown = sum(c.status == "unknown" for c in report.checks)
    verdict = "[green]ok[/green]" if report.ok else f"[red]{failed} failed[/red]"
    out.print(f"{verdict}; {len(report.checks)} checks, {unknown} unknown")


def run(args: argparse.Namespace) -> int:
    from servestack.preflight import preflight_stack

    report = preflight_stack(Path(args.cwd), args.stack)
    if args.json:
        from servestack.cli.output import emit_json

        emit_json(report.to_json())
    else:
        _print(report)
    return 0 if report.ok else 1
