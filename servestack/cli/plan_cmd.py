"""`servestack plan SPEC`: rank the cheapest stacks that meet the spec, optionally write the stack config."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servestack.errors import SpecError

if TYPE_CHECKING:
    from servestack.selector import Candidate, Plan

__all__ = ["add_parser", "run", "environment_kind"]

_KINDS = ("dev", "staging", "prod")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Google Cloud project ids: 6-30 characters, lower-case letters, digits and hyphens, starting with a letter
# and not ending with a hyphen (Resource Manager "Creating and managing projects", as of 2026-11).
_GCP_PROJECT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("plan", help="rank the cheapest stacks that meet a workload spec")
    p.add_argument("spec", help="workload spec YAML (see examples/)")
    p.add_argument("--env", default=None, help="stack name to plan for (a DNS-1123 label, e.g. prod, dev-alice)")
    p.add_argument("--kind", choices=_KINDS, default=None, help="environment kind; default: from the env name")
    p.add_argument("--top", type=int, default=5, help="feasible candidates to show (default 5)")
    p.add_argument("--write", action="store_true", help="write the chosen stack to stacks/Pulumi.<env>.yaml")
    p.add_argument("--force", action="store_true", help="with --write: replace values a person edited")
    p.add_argument(
        "-C", "--cwd", dest="project_dir", default=".", help="Pulumi project directory for --write (default: current)"
    )
    p.add_argument("--gcp-project", default=None, help="with --write: the GCP project id (gcp:project) to deploy into")
    p.add_argument("--json", action="store_true", help="print the plan JSON contract")
    p.set_defaults(func=run)


def environment_kind(env: str, kind: str | None) -> str:
    """The environment kind: explicit --kind, else the kind the name starts with, else prod."""
    if kind is not None:
        return kind
    for k in _KINDS:
        if env == k or env.startswith(k + "-") or env.startswith(k):
            return k
    return "prod"


def run(args: argparse.Namespace) -> int:
    from servestack.catalog import load_catalog
    from servestack.selector import plan
    from servestack.workload import load_spec

    if args.top < 1:
        raise SpecError("--top", args.top, "must be a positive integer")
    env = args.env
    if env is not None and not _DNS_1123_LABEL.match(env):
        raise SpecError("--env", env, "a stack name is a DNS-1123 label: lower-case letters, digits and '-'")
    if args.write and env is None:
        raise SpecError("--env", "<missing>", "--write needs the stack name, e.g. --env prod")
    if args.gcp_project is not None and not _GCP_PROJECT_ID.match(args.gcp_project):
        raise SpecError(
            "--gcp-project", args.gcp_project,
            "a GCP project id: 6-30 lower-case letters, digits and '-', starting with a letter (not the display name)",
        )
    if args.write:
        from servestack.generate import stack_file_path

        stack_file_path(Path(args.project_dir), env)  # fail on a missing project before planning, not after
    spec = load_spec(args.spec)
    catalog = load_catalog()
    result = plan(spec, catalog, top=args.top)

    if args.json:
        from servestack.cli.output import emit_json

        emit_json(result.to_json())
    else:
        _print_plan(result, spec.budget.monthly_usd)

    if not result.feasible:
        return 1
    if args.write:
        assert env is not None and result.chosen is not None
        return _write(spec, result.chosen, env, environment_kind(env, args.kind), args, quiet=args.json)
    return 0


def _write(spec: Any, chosen: Candidate, env: str, kind: str, args: argparse.Namespace, quiet: bool) -> int:
    from servestack.generate import current_value, owned_stack_config, write_stack_config

    gcp_project = args.gcp_project
    if gcp_project is None and chosen.cloud == "gcp":
        kept = current_value(Path(args.project_dir), env, "gcp:project")
        gcp_project = kept if isinstance(kept, str) and kept else None
    owned = owned_stack_config(spec, chosen.to_json(), kind, gcp_project=gcp_project)
    outcome = write_stack_config(Path(args.project_dir), env, owned, force=args.force)
    if not quiet:
        from servestack.cli.output import console

        out = console()
        out.print(outcome.summary())
        if chosen.cloud == "gcp" and gcp_project is None:
            out.print(f"note: set the GCP project before deploying: pulumi config set gcp:project <id> -s {env}")
        if spec.model.id is None:
            out.print(
                "note: name the checkpoint to serve before deploying: "
                f"pulumi config set servestack:servedModel <hugging-face-repo> -s {env}"
            )
        if kind == "dev" and (chosen.pricing_base, chosen.pricing_burst) != ("spot", "spot"):
            out.print(
                "note: this development stack runs on-demand GPU capacity; the budget pack's dev-spot-only "
                "policy will flag it (set pricing.spot: only in the spec to plan it on spot)"
            )
    return 0


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _print_plan(result: Plan, budget: float | None) -> None:
    from rich.table import Table

    from servestack.cli.output import console

    out = console()
    title = f"servestack plan: {result.workload}  (catalog {result.catalog_as_of}, {result.catalog_offerings} offerings"
    title += f", budget {_money(budget)}/month)" if budget is not None else ", no budget)"
    rows = result.candidates if result.feasible else result.closest
    if rows:
        table = Table(title=title if result.feasible else title + " - closest stacks over budget")
        table.caption = (
            "replicas/nodes: min/avg/peak and min/peak; pricing: always-on floor + burst above it; "
            "$/mo max is the ceiling (every node group at max) that budgets compare against"
        )
        for col in ("#", "where", "instance", "accel", "replica", "replicas", "nodes", "pricing", "$/node-h",
                    "$/mo exp", "$/mo max", "tok/s/rep", "TTFT/TPOT ms"):
            right = col in ("#", "$/node-h", "$/mo exp", "$/mo max", "tok/s/rep")
            table.add_column(col, no_wrap=True, justify="right" if right else "left")
        for i, c in enumerate(rows, 1):
            p = c.performance
            layout = f"TP{c.layout.tensor_parallel}"
            if c.layout.nodes_per_replica > 1:
                layout += f" x {c.layout.nodes_per_replica} nodes"
            elif c.layout.replicas_per_node > 1:
                layout += f", {c.layout.replicas_per_node}/node"
            table.add_row(
                "*" if (i == 1 and result.feasible) else str(i), f"{c.cloud}/{c.region}", c.instance_type,
                f"{c.accelerator} x{c.accelerators_per_node}", layout,
                f"{c.replicas_min}/{c.replicas_avg}/{c.replicas_peak}", f"{c.nodes_min}/{c.nodes_peak}",
                f"{c.pricing_base}+{c.pricing_burst}", f"{c.hourly_usd_per_node:.3f}",
                _money(c.monthly_usd_expected), _money(c.monthly_usd_ceiling),
                f"{p.output_tokens_per_s:,.0f}", f"{p.ttft_ms:,.0f} / {p.tpot_ms:,.1f}",
            )
        out.print(table)
    if result.rejected:
        rej = Table(title="rejected alternatives (offerings, or replica layouts of an offering)")
        rej.add_column("reason")
        rej.add_column("count", justify="right")
        for reason, n in result.rejected.items():
            rej.add_row(reason, str(n))
        out.print(rej)
    if result.feasible and result.chosen is not None:
        c = result.chosen
        out.print(
            f"chosen: {c.cloud} {c.region} {c.instance_type} ({c.accelerator} x{c.accelerators_per_node}), "
            f"{c.replicas_min}-{c.replicas_peak} replicas, {_money(c.monthly_usd_expected)}/month expected, "
            f"{_money(c.monthly_usd_ceiling)}/month ceiling"
        )
    else:
        out.print(f"[bold red]infeasible[/]: binding constraint {result.binding_constraint}; {result.hint}")
