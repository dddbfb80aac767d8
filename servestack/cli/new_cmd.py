"""`servestack new DIR --workload SPEC [--workload SPEC ...] [--env ENV ...]`: a standalone Pulumi project."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from servestack.cli.plan_cmd import add_stack_choice_arguments, environment_kind, stack_choices

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "new",
        help="generate a Pulumi project for your workloads (or re-plan one with --update)",
        description=(
            "Plans every environment for the workload specs (several workloads share one cluster per environment "
            "unless separate clusters are cheaper) and writes a standalone Pulumi project: Pulumi.yaml, a thin "
            "__main__.py importing servestack's components, requirements.txt pinning this servestack, one stack "
            "file and one policy config per stack, the GitHub workflows and a README with each plan. Same inputs, "
            "same bytes. Refuses a directory with files unless --update (rewrites only what nobody edited) or --force."
        ),
    )
    p.add_argument("directory", metavar="DIR",
                   help="the project directory (new or empty, or generated before, with --update)")
    p.add_argument(
        "--workload", action="append", default=None, metavar="SPEC",
        help="workload spec YAML (repeatable); with --update, default: the project's workloads/*.yaml",
    )
    p.add_argument(
        "--env", action="append", default=None, metavar="ENV",
        help="a stack to plan (repeatable, a DNS-1123 label; its kind is the kind it starts with, else prod); "
        "default: dev and prod, or with --update the environments of the last run",
    )
    p.add_argument("--name", default=None, help="the Pulumi project name (default: the directory's name)")
    p.add_argument("--update", action="store_true",
                   help="re-plan a project `servestack new` generated; files and stack values a person edited stay")
    p.add_argument("--force", action="store_true", help="overwrite files and stack values a person edited")
    p.add_argument(
        "--shared-owner", default=None, metavar="TEAM/COST_CENTER",
        help="who pays for what workloads of different owners share (cluster, network, system nodes): its "
        "cost-allocation tags; each workload's own resources keep its spec's owner",
    )
    add_stack_choice_arguments(p, when="")
    p.add_argument("--json", action="store_true", help="print what was planned and written as JSON")
    p.set_defaults(func=run)


def _workload_inputs(args: argparse.Namespace, directory: Path) -> tuple[tuple[str, str], ...]:
    from servestack.errors import SpecError
    from servestack.project import load_manifest
    from servestack.yamlio import read_user_text

    paths: list[Path] = [Path(w) for w in args.workload or ()]
    if not paths and args.update:
        manifest = load_manifest(directory) or {}
        paths = [directory / str(rel) for rel in manifest.get("workloads") or ()]
    if not paths:
        raise SpecError("--workload", "<missing>", "one or more workload spec files (see examples/)")
    return tuple((str(p), read_user_text(p, "spec")) for p in paths)


def run(args: argparse.Namespace) -> int:
    from servestack.project import ProjectRequest, generate_project

    directory = Path(args.directory)
    started = time.perf_counter()
    request = ProjectRequest(
        directory=directory, name=args.name, workloads=_workload_inputs(args, directory),
        envs=tuple(args.env or ()), choices=stack_choices(args), kind_of=lambda env: environment_kind(env, None),
        shared_owner=args.shared_owner, update=args.update, force=args.force,
    )
    result = generate_project(request)
    elapsed = time.perf_counter() - started
    if args.json:
        from servestack.cli.output import emit_json

        emit_json(result.to_json())
        return 0
    from rich.markup import escape

    from servestack.cli.output import console

    out = console()
    for env in result.envs:
        for stack in env.stacks:
            pools = [row.pool for row in stack.rows if row.pool]
            routed = f", {len(pools)} mixed fleet pools behind one router" if pools else ""
            out.print(f"{env.env}: stack {stack.name}: {', '.join(stack.workloads)} in {stack.rows[0].cloud}/"
                      f"{stack.rows[0].region}{routed}, ${stack.expected:,.0f}/month expected, "
                      f"${stack.ceiling:,.0f} ceiling")
        if env.joint is not None:
            out.print(f"{env.env}: {escape(env.joint.summary())}", soft_wrap=True)
    for label, paths in (("created", result.created), ("updated", result.updated)):
        if paths:
            out.print(f"{label}: {', '.join(paths)}", soft_wrap=True)
    for path, reason in result.skipped:
        out.print(f"[yellow]skipped[/yellow] {escape(path)}: {escape(reason)}", soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {escape(note)}", soft_wrap=True)
    for path in result.not_planned:
        out.print(f"[yellow]not planned any more[/yellow] (left as is): {escape(path)}", soft_wrap=True)
    out.print(f"{directory}: {len(result.created)} created, {len(result.updated)} updated, "
              f"{len(result.unchanged)} unchanged, {len(result.skipped)} skipped in {elapsed:.1f} s")
    return 0
