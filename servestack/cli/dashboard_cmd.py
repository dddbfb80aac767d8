"""`servestack dashboard [-s STACK] [-o FILE] [--rules FILE]`: the stack's Grafana dashboard (and alerting rules)."""

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
            "import dashboards into their own Grafana. --rules also writes the Prometheus alerting rules file the "
            "stack loads (check it with `promtool check rules FILE`)."
        ),
    )
    parser.add_argument("-s", "--stack", default=None, help="stack name (default: the only stack with a file)")
    parser.add_argument("-C", "--cwd", default=".", help="the Pulumi project directory (default: current)")
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="write the dashboard JSON to FILE (default: standard output)")
    parser.add_argument("--rules", default=None, metavar="FILE", help="also write the alerting rules (YAML) to FILE")
    parser.add_argument("--json", action="store_true",
                        help="print workload, environment, dashboard, rules and written files as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from servestack.monitoring import dashboard, dashboard_json, monitoring_targets, rules_document, rules_yaml
    from servestack.monitoring.targets import stack_config

    cfg = stack_config(Path(args.cwd), args.stack)
    targets = monitoring_targets(cfg)
    text = dashboard_json(targets)
    written: list[str] = []
    if args.output is not None:
        Path(args.output).write_text(text, encoding="utf-8")
        written.append(args.output)
    if args.rules is not None:
        Path(args.rules).write_text(rules_yaml(targets), encoding="utf-8")
        written.append(args.rules)
    if args.json:
        from servestack.cli.output import emit_json

        emit_json({"workload": targets.workload, "environment": targets.environment,
                   "dashboard": dashboard(targets), "rules": rules_document(targets), "written": written})
    elif args.output is None:
        sys.stdout.write(text)
    else:
        for path in written:
            print(f"wrote {path}", file=sys.stderr)
    return 0
