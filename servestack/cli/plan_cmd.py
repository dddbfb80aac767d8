"""`servestack plan SPEC`: rank the cheapest stacks that meet the spec, optionally write the stack config."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from servestack.contract.environment import environment_adjustments, spec_for_environment
from servestack.errors import SpecError

if TYPE_CHECKING:
    from servestack.catalog.store import CatalogChoice
    from servestack.contract import ApiAccess, Deployment
    from servestack.contract.fleet import Fleet
    from servestack.generate import StackChoices
    from servestack.selector import Plan

__all__ = ["add_parser", "run", "environment_kind", "add_stack_choice_arguments", "stack_choices"]

_KINDS = ("dev", "staging", "prod")
_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Google Cloud project ids: 6-30 characters, lower-case letters, digits and hyphens, starting with a letter
# and not ending with a hyphen (Resource Manager "Creating and managing projects", as of 2026-11).
_GCP_PROJECT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
_PRINCIPAL = re.compile(
    r"^(arn:aws[-a-z]*:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]{1,512}|(user|serviceAccount|group):[^\s]{3,320})$"
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser("plan", help="rank the cheapest stacks that meet a workload spec")
    p.add_argument("spec", help="workload spec YAML (see examples/)")
    p.add_argument("--env", default=None, help="stack name to plan for (a DNS-1123 label, e.g. prod, dev-alice)")
    p.add_argument("--kind", choices=_KINDS, default=None, help="environment kind; default: from the env name")
    p.add_argument("--top", type=int, default=5, help="feasible candidates to show (default 5)")
    p.add_argument("--write", action="store_true", help="write the chosen stack to stacks/Pulumi.<env>.yaml")
    p.add_argument("--force", action="store_true",
                   help="with --write: replace values a person edited; with --report: replace an existing FILE")
    p.add_argument("--report", default=None, metavar="FILE.html",
                   help="write the plan as one self-contained HTML page (chart, costs, rejected alternatives)")
    p.add_argument(
        "-C", "--cwd", dest="project_dir", default=".", help="Pulumi project directory for --write (default: current)"
    )
    add_stack_choice_arguments(p, when="with --write: ")
    p.add_argument(
        "--preflight", action="store_true",
        help="check candidates against the live clouds (quotas, zone offerings; your credentials) and reject those "
        "that cannot launch (reasons quota / not_offered); GCP is checked with --gcp-project",
    )
    p.add_argument("--json", action="store_true", help="print the plan JSON contract")
    p.set_defaults(func=run)


def add_stack_choice_arguments(p: Any, when: str) -> None:
    """The flags for what a spec cannot decide (access, credentials, GCP project), read by `stack_choices`;
    shared by `plan --write` and `new` so both take the same flags with the same checks."""
    p.add_argument("--gcp-project", default=None, help=when + "the GCP project id (gcp:project) to deploy into")
    access = p.add_mutually_exclusive_group()
    access.add_argument(
        "--api-cidr", action="append", default=None, metavar="CIDR",
        help=when + "a network allowed to the cluster's public API endpoint (repeatable); "
        "private access is kept",
    )
    access.add_argument(
        "--api-private", action="store_true",
        help=when + "private cluster API endpoint only (run `pulumi up` from inside the VPC)",
    )
    p.add_argument(
        "--hf-token-secret", default=None, metavar="NAME",
        help=when + "secret (AWS Secrets Manager / GCP Secret Manager) holding the Hugging Face token for "
        "gated weights; the serving pod's identity may read it",
    )
    p.add_argument(
        "--cluster-admin", action="append", default=None, metavar="PRINCIPAL",
        help=when + "IAM role ARN (AWS) or IAM member (GCP) given cluster-admin, e.g. your CI role (repeatable)",
    )
    p.add_argument(
        "--commitment-purchased", action="store_true",
        help=when + "the plan's 1y/3y commitment is bought, so the budget pack prices the floor as committed",
    )


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
    if args.report is not None:
        from servestack.report import check_report_path

        check_report_path(Path(args.report), args.force)
    # Bad flags exit 2 before planning, with or without --write; the choices are built only to write.
    choices = stack_choices(args) if args.write else None
    if choices is None:
        _checked_stack_flags(args)
    spec = load_spec(args.spec)
    catalog_choice = _catalog_choice()
    catalog = load_catalog(catalog_choice.path)
    kind = environment_kind(env, args.kind) if env is not None else (args.kind or "prod")
    adjustments = environment_adjustments(spec, kind)
    planned = spec_for_environment(spec, kind)
    checked = None
    if args.preflight:
        from servestack.preflight.planning import plan_with_preflight

        result, checked = plan_with_preflight(planned, catalog, top=args.top, gcp_project=args.gcp_project)
    else:
        result = plan(planned, catalog, top=args.top)
    # The pydantic contract is built only when it is printed as JSON, written, reported or a fleet; the text
    # answer shows the same serving values computed without it (building the models costs more than planning).
    if args.json or args.write or args.report is not None or result.mixed is not None:
        deployment, missing = _contract(planned, result, catalog)
        fleet = result.mixed.fleet(planned, catalog) if result.mixed is not None and missing is None else None
        if fleet is not None:
            deployment = fleet.servers[0].deployment
        summary = None if args.json else _summary_of(deployment)
    else:
        deployment, fleet = None, None
        summary, missing = _contract_summary(planned, result, catalog)
    dependence = _commitment_dependence(planned, result, catalog)

    if args.json:
        from servestack.cli.output import emit_json

        doc = result.to_json()
        doc["catalog"].update(path=str(catalog_choice.path), source=catalog_choice.source)
        if dependence is not None:
            doc["estimated_commitment"] = dependence
        doc["environment"] = {"kind": kind, "adjustments": adjustments}
        if checked is not None:
            doc["preflight"] = checked.to_json()
        doc["deployment"] = deployment.to_stack_config() if deployment is not None else None
        if fleet is not None:
            doc["fleet"] = fleet.to_stack_config()
        if missing is not None:
            doc["missing"] = {"model.checkpoint": missing}
        emit_json(doc)
    else:
        _print_plan(result, spec.budget.monthly_usd)
        _print_catalog_notes(catalog_choice, dependence)
        if checked is not None:
            _print_preflight(checked.to_json())
        _print_contract(kind, adjustments, summary, missing)

    if args.report is not None:
        _write_report(planned, catalog, result, env or kind, deployment, args)
    if not result.feasible:
        return 1
    if args.write:
        assert env is not None
        if deployment is None:
            raise SpecError("model.checkpoint", None, missing or "set model.checkpoint")
        assert choices is not None
        return _write(planned, deployment, env, kind, choices, args, quiet=args.json, fleet=fleet)
    return 0


def _write_report(spec: Any, catalog: Any, result: Plan, environment: str, deployment: Deployment | None,
                  args: argparse.Namespace) -> None:
    from servestack.report import build_report, render_html, write_report

    path = Path(args.report)
    write_report(path, render_html(build_report(spec, catalog, result, environment, deployment), result.chosen),
                 args.force)
    if not args.json:
        from servestack.cli.output import console

        console().print(f"report: {path}")


def _catalog_choice() -> CatalogChoice:
    """The catalog in use (newest refreshed one in the cache, else bundled); warns on stderr when it is stale."""
    import sys
    from datetime import datetime, timezone

    from servestack.catalog.store import choose_catalog, staleness_warning

    choice = choose_catalog()
    warning = staleness_warning(choice, datetime.now(timezone.utc).date())
    if warning is not None:
        print(f"warning: {warning}", file=sys.stderr)
    return choice


def _commitment_dependence(spec: Any, result: Plan, catalog: Any) -> dict[str, Any] | None:
    """When the chosen stack rests on an estimated commitment price: the cheapest stack without it."""
    from servestack.selector import plan

    chosen = result.chosen
    if chosen is None:
        return None
    used = [m for m in {chosen.pricing_base, chosen.pricing_burst} if m in ("1y", "3y")]
    estimated = [m for m in used if getattr(chosen.offering, f"price_{m}_estimated")]
    if not estimated:
        return None
    alternative = plan(spec, catalog.without_estimated_commitments(), top=1).chosen
    difference = None if alternative is None else alternative.monthly_usd_expected - chosen.monthly_usd_expected
    return {
        "pricing": sorted(estimated),
        "without_estimates": alternative.to_json() if alternative is not None else None,
        "difference_usd_month": None if difference is None else round(difference, 2),
    }


def _print_catalog_notes(choice: CatalogChoice, dependence: dict[str, Any] | None) -> None:
    from servestack.cli.output import console

    out = console()
    out.print(f"catalog: {choice.source}, as of {choice.as_of} ({choice.path})")
    if dependence is None:
        return
    terms = "/".join(dependence["pricing"])
    alt = dependence["without_estimates"]
    if alt is None:
        out.print(
            f"note: the chosen {terms} price is an estimate (fallback ratio of on-demand); "
            "no stack meets the spec without estimated commitment prices"
        )
        return
    out.print(
        f"note: the chosen {terms} price is an estimate (fallback ratio of on-demand, not a published rate); "
        f"without estimated commitment prices the cheapest stack is {alt['cloud']} {alt['region']} "
        f"{alt['instance_type']} ({alt['pricing_base']}+{alt['pricing_burst']}), "
        f"{_money(alt['monthly_usd_expected'])}/month expected, {_money(dependence['difference_usd_month'])} more"
    )


def stack_choices(args: argparse.Namespace) -> StackChoices:
    """The flags of `add_stack_choice_arguments` as stack choices; bad values exit 2 naming the flag."""
    from servestack.generate import StackChoices

    access, secret, admins = _checked_stack_flags(args)
    return StackChoices(access, secret, admins, bool(args.commitment_purchased), args.gcp_project)


def _checked_stack_flags(args: argparse.Namespace) -> tuple[ApiAccess | None, str | None, tuple[str, ...]]:
    """The access, token secret and admins flags, checked (exit 2 naming the flag) without importing the
    stack writer, which `plan` without --write does not need."""
    access = None
    if args.api_private or args.api_cidr:
        from pydantic import ValidationError

        from servestack.contract import ApiAccess

        try:
            if args.api_private:
                access = ApiAccess(mode="private")
            else:
                access = ApiAccess(mode="cidrs", cidrs=list(args.api_cidr))
        except ValidationError as exc:
            msg = str(exc.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")
            raise SpecError("--api-cidr", ", ".join(args.api_cidr or []), msg) from None
    secret = args.hf_token_secret
    if secret is not None and not _SECRET_NAME.match(secret):
        raise SpecError("--hf-token-secret", secret, "a secret name: letters, digits and /_+=.@- (1-512 characters)")
    admins = tuple(args.cluster_admin or ())
    for admin in admins:
        if not _PRINCIPAL.match(admin):
            raise SpecError("--cluster-admin", admin,
                            "an IAM role/user ARN (arn:aws:iam::123456789012:role/ci) or a GCP IAM member "
                            "(user:..., serviceAccount:..., group:...)")
    return access, secret, admins


def _contract(spec: Any, result: Plan, catalog: Any) -> tuple[Deployment | None, str | None]:
    """The chosen candidate's deployment contract, or why it cannot be written (a missing checkpoint)."""
    from servestack.contract.derive import missing_checkpoint_message

    if result.chosen is None:
        return None, None
    missing = missing_checkpoint_message(spec)
    if missing is not None:
        return None, missing
    return result.chosen.deployment(spec, catalog), None


def _contract_summary(spec: Any, result: Plan, catalog: Any) -> tuple[dict[str, Any] | None, str | None]:
    """What `_print_contract` shows of the chosen candidate's contract, computed without building it."""
    from servestack.contract.derive import commitment_values, missing_checkpoint_message, serving_values

    chosen = result.chosen
    if chosen is None:
        return None, None
    missing = missing_checkpoint_message(spec)
    if missing is not None:
        return None, missing
    serving = serving_values(spec, catalog.accelerators[chosen.accelerator], chosen.performance.weights_gib,
                             chosen.accelerators_per_node)
    commitment = commitment_values(chosen.offering, chosen.pricing_base, chosen.nodes_min,
                                   chosen.hourly_usd_per_node)
    return {"serving": serving, "commitment": commitment}, None


def _summary_of(deployment: Deployment | None) -> dict[str, Any] | None:
    if deployment is None:
        return None
    commitment = deployment.commitment
    return {"serving": deployment.serving.model_dump(), "commitment": commitment and commitment.model_dump()}


def _write(
    spec: Any, deployment: Deployment, env: str, kind: str, choices: StackChoices, args: argparse.Namespace,
    quiet: bool, fleet: Fleet | None = None,
) -> int:
    import dataclasses

    from servestack.generate import current_value, fleet_keys, owned_stack_config, write_stack_config

    if choices.gcp_project is None and deployment.cloud == "gcp":
        kept = current_value(Path(args.project_dir), env, "gcp:project")
        choices = dataclasses.replace(choices, gcp_project=kept if isinstance(kept, str) and kept else None)
    owned = owned_stack_config(spec, deployment, kind, choices)
    if fleet is not None:
        owned = fleet_keys(owned, fleet)
    outcome = write_stack_config(Path(args.project_dir), env, owned, force=args.force)
    if not quiet:
        from servestack.cli.output import console

        out = console()
        out.print(outcome.summary())
        project = Path(args.project_dir)
        if deployment.cloud == "gcp" and choices.gcp_project is None:
            out.print(f"note: set the GCP project before deploying: pulumi config set gcp:project <id> -s {env}")
        if choices.api_access is None and current_value(project, env, "servestack:apiAccess") is None:
            out.print("note: `pulumi up` stops until the cluster API access is chosen: re-run with --api-cidr CIDR "
                      "or --api-private (servestack:apiAccess)")
        if (deployment.serving.gated and choices.hf_token_secret is None
                and current_value(project, env, "servestack:hfTokenSecret") is None):
            out.print(f"note: {deployment.serving.checkpoint} is gated; `pulumi up` stops until a token secret is "
                      "named: re-run with --hf-token-secret NAME (servestack:hfTokenSecret)")
    return 0


def _print_contract(kind: str, adjustments: list[str], summary: dict[str, Any] | None, missing: str | None) -> None:
    from servestack.cli.output import console

    out = console()
    for line in adjustments:
        out.print(f"planned as a {kind} stack: {line}")
    if missing is not None:
        out.print(f"[bold yellow]missing[/]: model.checkpoint: {missing}")
    if summary is None:
        return
    s = summary["serving"]
    quant = f", --quantization {s['quantization']}" if s["quantization"] else ""
    launch, startup = s["node_launch_s"], s["startup_budget_s"]
    out.print(
        f"serves: {s['checkpoint']} ({s['checkpoint_gib']:g} GiB{', gated' if s['gated'] else ''}), "
        f"--dtype {s['dtype']}, --kv-cache-dtype {s['kv_cache_dtype']}{quant}; cold start "
        f"~{(launch + startup) // 60} min budgeted (node {launch // 60} min + pod {startup // 60} min)"
    )
    if summary["commitment"] is not None:
        out.print(f"commitment: {summary['commitment']['instructions']}")


def _print_preflight(doc: dict[str, Any]) -> None:
    from rich.markup import escape

    from servestack.cli.output import console

    out = console()
    excluded, unknown = doc["excluded"], doc["unknown"]
    out.print(f"preflight: {len(excluded)} offering(s) rejected by the live clouds"
              + (f", {len(unknown)} check(s) not made" if unknown else ""))
    for e in excluded:
        out.print(f"  {e['reason']}: {e['cloud']}/{e['region']} {e['instance_type']}: {escape(e['detail'])}",
                  soft_wrap=True)
    shown = 6
    for note in unknown[:shown]:
        out.print(f"  [yellow]unknown[/yellow]: {escape(note)}", soft_wrap=True)
    if len(unknown) > shown:
        out.print(f"  ... and {len(unknown) - shown} more not checked (see --json: preflight.unknown)")


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
    if result.feasible and result.mixed is not None:
        m = result.mixed
        out.print(
            f"chosen: mixed fleet in {m.cloud} {m.region}, {len(m.pools)} pools, "
            f"{_money(m.monthly_usd_expected)}/month expected, {_money(m.monthly_usd_ceiling)}/month ceiling"
        )
        for pool in m.pools:
            c = pool.candidate
            out.print(
                f"  pool {pool.name}: {c.instance_type} ({c.accelerator} x{c.accelerators_per_node}, "
                f"TP{c.layout.tensor_parallel}), {c.replicas_min}-{c.replicas_peak} replicas, serves "
                f"{', '.join(pool.classes)} ({pool.request_share:.0%} of requests), "
                f"{_money(pool.gpu_monthly_usd_expected)}/month expected"
            )
        out.print(m.explanation())
    elif result.feasible and result.chosen is not None:
        c = result.chosen
        out.print(
            f"chosen: {c.cloud} {c.region} {c.instance_type} ({c.accelerator} x{c.accelerators_per_node}), "
            f"{c.replicas_min}-{c.replicas_peak} replicas, {_money(c.monthly_usd_expected)}/month expected, "
            f"{_money(c.monthly_usd_ceiling)}/month ceiling"
        )
        out.print(f"  pool {result.workload}: serves {', '.join(result.class_names)} (every request)")
    else:
        out.print(f"[bold red]infeasible[/]: binding constraint {result.binding_constraint}; {result.hint}")
