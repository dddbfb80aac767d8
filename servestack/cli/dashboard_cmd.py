"""`servestack dashboard [-s STACK] [--pool POOL] [-o FILE | --output-dir DIR] [--rules FILE] [--json]`: the stack's
Grafana dashboards (one per server) and its alerting rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dashboard",
        help="write the stack's Grafana dashboard JSON (and its Prometheus alerting rules)",
        description=(
            "Renders the Grafana dashboard the stack ships as a ConfigMap (latency against the SLO, throughput, "
            "replicas and nodes against the plan, cost per hour) from stacks/Pulumi.<stack>.yaml, for teams that "
            "import dashboards into their own Grafana. A stack with several servers (servestack:fleet) has one "
            "dashboard per pool: pick one with --pool, or write every one with --output-dir. --rules also writes "
            "the Prometheus alerting rules file the stack loads, every server's (check it with `promtool check "
            "rules FILE`)."
        ),
    )
    parser.add_argument("-s", "--stack", default=None, help="stack name (default: the only stack with a file)")
    parser.add_argument("-C", "--cwd", default=".", help="the Pulumi project directory (default: current)")
    parser.add_argument("--pool", default=None, metavar="POOL",
                        help="on a stack with several servers: the pool whose dashboard to render")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", default=None, metavar="FILE",
                     help="write the dashboard JSON to FILE (default: standard output)")
    out.add_argument("--output-dir", default=None, metavar="DIR",
                     help="write every server's dashboard to DIR/<pool>.json (DIR/<workload>.json for one workload)")
    parser.add_argument("--rules", default=None, metavar="FILE", help="also write the alerting rules (YAML) to FILE")
    parser.add_argument("--json", action="store_true",
                        help="print workload, environment, dashboard, rules and written files as JSON "
                        "(a stack with several servers: environment, servers, rules, written)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from servestack.errors import SpecError
    from servestack.monitoring import dashboard, dashboard_json, fleet_rules_document, fleet_targets, rules_yaml
    from servestack.monitoring.targets import stack_config

    cfg = stack_config(Path(args.cwd), args.stack)
    every = fleet_targets(cfg)
    pools = [t.pool for t in every if t.pool is not None]
    if args.pool is not None and args.pool not in pools:
        allowed = ", ".join(pools) if pools else "none: the stack serves one workload (leave --pool out)"
        raise SpecError("--pool", args.pool, f"a pool of the stack; allowed: {allowed}")
    chosen = [t for t in every if args.pool is None or t.pool == args.pool]
    single = len(chosen) == 1
    if not single and (args.output is not None or (args.output_dir is None and not args.json)):
        raise SpecError("--pool", "<missing>", f"the stack has {len(chosen)} servers, each with its own dashboard: "
                        f"pass --pool POOL (one of: {', '.join(pools)}) or --output-dir DIR to write them all")
    written: list[str] = []
    if args.output is not None:
        Path(args.output).write_text(dashboard_json(chosen[0]), encoding="utf-8")
        written.append(args.output)
    if args.output_dir is not None:
        directory = Path(args.output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        for t in chosen:
            board = directory / f"{t.name}.json"
            board.write_text(dashboard_json(t), encoding="utf-8")
            written.append(str(board))
    if args.rules is not None:
        # The rules file the stack's one Prometheus loads: every server's, whichever dashboard was asked for.
        Path(args.rules).write_text(rules_yaml(every), encoding="utf-8")
        written.append(args.rules)
    if args.json:
        from servestack.cli.output import emit_json

        rules = fleet_rules_document(every)
        if cfg.fleet_servers is None:
            t = chosen[0]
            emit_json({"workload": t.workload, "environment": t.environment, "dashboard": dashboard(t),
                       "rules": rules, "written": written})
        else:
            emit_json({"environment": cfg.environment,
                       "servers": [{"pool": t.pool, "workload": t.workload, "dashboard": dashboard(t)} for t in chosen],
                       "rules": rules, "written": written})
    elif args.output is None and args.output_dir is None:
        sys.stdout.write(dashboard_json(chosen[0]))
    else:
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0
