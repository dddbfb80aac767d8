"""`servestack catalog`: list the bundled GPU offerings, filtered by cloud, accelerator and region."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "catalog",
        help="list GPU offerings and their prices",
        description="List the bundled GPU offerings (USD per node-hour) with their sources and dates.",
    )
    parser.add_argument("--cloud", help="aws or gcp")
    parser.add_argument("--accelerator", help="canonical id or alias, e.g. H100, a100-80gb, nvidia-l4")
    parser.add_argument("--region", help="cloud region, e.g. us-east-1 or us-central1")
    parser.add_argument("--json", action="store_true", help="print the Catalog JSON document")
    parser.set_defaults(func=run)
    return parser


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.3f}"


def run(args: argparse.Namespace) -> int:
    from servestack.catalog import load_catalog
    from servestack.cli.output import console, emit_json

    catalog = load_catalog()
    # `is not None`, not truthiness: `--cloud ""` is a bad value, not "no filter".
    cloud = catalog.resolve_cloud(args.cloud, field="--cloud") if args.cloud is not None else None
    accelerator = (
        catalog.resolve_accelerator(args.accelerator, field="--accelerator") if args.accelerator is not None else None
    )
    region = catalog.resolve_region(cloud, args.region, field="--region") if args.region is not None else None
    offerings = catalog.filter(cloud=cloud, accelerator=accelerator, region=region)

    if args.json:
        emit_json(
            {
                "as_of": catalog.as_of,
                "offerings": [
                    {
                        "cloud": o.cloud,
                        "region": o.region,
                        "zones": list(o.zones),
                        "instance_type": o.instance_type,
                        "accelerator": o.accelerator,
                        "accelerators_per_node": o.accelerators_per_node,
                        "accelerator_memory_gib": o.accelerator_memory_gib,
                        "vcpus": o.vcpus,
                        "memory_gib": o.memory_gib,
                        "price_on_demand": o.price_on_demand,
                        "price_spot": o.price_spot,
                        "price_1y": o.price_1y,
                        "price_3y": o.price_3y,
                        "source": o.source,
                        "as_of": o.as_of,
                    }
                    for o in offerings
                ],
            }
        )
        return 0

    from rich.table import Table

    table = Table(title=f"GPU offerings (USD per node-hour, catalog as of {catalog.as_of})")
    for name, justify in (
        ("cloud", "left"), ("region", "left"), ("instance type", "left"), ("accelerator", "left"),
        ("GPUs", "right"), ("vCPU", "right"), ("mem GiB", "right"),
        ("on-demand", "right"), ("spot", "right"), ("1y", "right"), ("3y", "right"),
    ):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for o in offerings:
        table.add_row(
            o.cloud, o.region, o.instance_type, o.accelerator, str(o.accelerators_per_node), str(o.vcpus),
            f"{o.memory_gib:g}",
            *(_price(o.price(mode)) for mode in ("on_demand", "spot", "1y", "3y")),
        )
    out = console()
    # Instance types and regions must stay readable even when stdout is a pipe (80 columns).
    out.print(table, width=max(out.width, 132))
    out.print(f"{len(offerings)} offerings; prices carry a source and date per row (see --json).")
    return 0
