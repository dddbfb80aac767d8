"""`servestack catalog`: list the GPU offerings; `servestack catalog refresh`: rebuild them from the clouds' APIs."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from servestack.catalog.cloud_prices import PriceSource

__all__ = ["add_parser", "run", "run_refresh", "price_sources"]


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
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    refresh = actions.add_parser(
        "refresh",
        help="rebuild the catalog from the AWS and GCP price APIs",
        description=(
            "Rebuild the price rows from the clouds' own APIs (AWS Price List, EC2 spot price history and "
            "offerings; GCP Cloud Billing Catalog and accelerator types), write a dated catalog to the cache "
            "(or --out) and show what changed against the current one. `plan` then uses the newest catalog."
        ),
    )
    refresh.add_argument("--cloud", choices=("aws", "gcp"), help="refresh one cloud; the other keeps its rows")
    refresh.add_argument(
        "--out", type=Path, default=None, metavar="FILE",
        help="write here instead of the cache: a directory, or a .json file for offerings.json alone",
    )
    refresh.add_argument("--gcp-project", default=None, help="GCP project for the accelerator-type listing")
    refresh.add_argument("--top", type=int, default=15, help="largest moves to show (default 15)")
    refresh.add_argument("--json", action="store_true", help="print the changes as JSON")
    refresh.set_defaults(func=run_refresh)
    return parser


def _price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.3f}"


def run(args: argparse.Namespace) -> int:
    from servestack.catalog import load_catalog
    from servestack.catalog.store import choose_catalog
    from servestack.cli.output import console, emit_json

    catalog = load_catalog(choose_catalog().path)
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


def price_sources(clouds: list[str], args: argparse.Namespace) -> list[PriceSource]:
    """The adapters for `clouds` (replaced in tests by ones over moto, Stubber and recorded JSON)."""
    from servestack.catalog.cloud_prices import AwsPrices, GcpPrices

    made: dict[str, PriceSource] = {"aws": AwsPrices(), "gcp": GcpPrices(project=args.gcp_project)}
    return [made[c] for c in clouds]


def _today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def run_refresh(args: argparse.Namespace) -> int:
    import json
    import os
    import tempfile

    from servestack.catalog import load as catalog_load
    from servestack.catalog.cloud_prices import RefreshRequest
    from servestack.catalog.refresh import RULES_FILE, dump_offerings
    from servestack.catalog.store import cache_root, choose_catalog, compare_prices, read_offerings
    from servestack.cli.output import console, emit_json
    from servestack.errors import SpecError

    if args.top < 1:
        raise SpecError("--top", args.top, "must be a positive integer")
    current = choose_catalog()
    doc = read_offerings(current.path)
    rules = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    clouds = [args.cloud] if args.cloud else ["aws", "gcp"]
    as_of = _today()
    regions = {c: sorted({r["region"] for r in doc["prices"] if r["cloud"] == c}) for c in ("aws", "gcp")}
    request = RefreshRequest(doc["instance_types"], regions, rules, as_of)
    # Every API call happens before anything is written: a refused call leaves the current catalog as it is.
    fresh = [row for source in price_sources(clouds, args) for row in source.price_rows(request)]
    kept = [row for row in doc["prices"] if row["cloud"] not in clouds]
    new_doc = {**doc, "as_of": as_of,
               "prices": sorted(kept + fresh, key=lambda r: (r["cloud"], r["region"], r["instance_type"]))}
    accelerators = json.loads((current.path / catalog_load.ACCELERATORS_FILE).read_text(encoding="utf-8"))
    catalog_load.parse_catalog(accelerators, new_doc)  # never write a catalog that `plan` would refuse

    if args.out is not None and args.out.suffix == ".json":
        target_file, target_dir = args.out, None
    else:
        target_dir = args.out if args.out is not None else cache_root() / as_of
        target_file = target_dir / catalog_load.OFFERINGS_FILE
    target_file.parent.mkdir(parents=True, exist_ok=True)
    if target_dir is not None:
        (target_dir / catalog_load.ACCELERATORS_FILE).write_text(json.dumps(accelerators, indent=1) + "\n", "utf-8")
    with tempfile.NamedTemporaryFile("w", dir=target_file.parent, delete=False, encoding="utf-8") as tmp:
        tmp.write(dump_offerings(new_doc))
    os.replace(tmp.name, target_file)

    diff = compare_prices(doc["prices"], new_doc["prices"])
    summary = {
        "path": str(target_file), "as_of": as_of, "clouds": clouds, "rows": len(new_doc["prices"]),
        "compared_with": {"path": str(current.path), "source": current.source, "as_of": current.as_of},
        "added": diff["added"], "removed": diff["removed"], "unchanged_rows": diff["unchanged_rows"],
        "changes": [c.to_json() for c in diff["changes"]],
    }
    if args.json:
        emit_json(summary)
        return 0
    from rich.table import Table

    out = console()
    table = Table(title=f"largest price moves against the {current.source} catalog of {current.as_of} (USD/node-h)")
    for col in ("cloud", "region", "instance type", "price", "old", "new", "change"):
        table.add_column(col, no_wrap=True, justify="right" if col in ("old", "new", "change") else "left")
    for c in diff["changes"][: args.top]:
        pct = c.change_pct
        table.add_row(c.cloud, c.region, c.instance_type, c.field, _price(c.old), _price(c.new),
                      "-" if pct is None else f"{pct:+.1f}%")
    out.print(table, width=max(out.width, 100))
    out.print(
        f"wrote {len(new_doc['prices'])} price rows ({', '.join(clouds)} as of {as_of}) to {target_file}; "
        f"{len(diff['changes'])} prices moved, {len(diff['added'])} rows added, {len(diff['removed'])} removed, "
        f"{diff['unchanged_rows']} unchanged"
    )
    return 0
