"""Cross-check the catalog's prices against an independent SkyPilot-format snapshot (vms.csv per cloud).

Run as `python -m servestack.catalog.crosscheck [--aws-vms AWS.csv] [--gcp-vms GCP.csv] [--catalog DIR] [--json]`.
Without arguments it uses the sourced excerpts of skypilot-catalog v9 kept in tests/catalog/fixtures
(see the README there), which is what tests/catalog/test_crosscheck.py runs.

For every catalog row the snapshot covers, the snapshot's on-demand price (highest zone) and its spot price
under the catalog's own rule (`servestack.catalog.spot`: median of the discounted regular zones) are
compared with the row: on-demand within 2 %, spot within 10 %. A GCP node is the machine plus its GPUs.
Where the snapshot's GPU on-demand price in a region is below its own spot price (non-list SKUs that some
of its GCP GPU rows carry), its on-demand figure is wrong: that row's on-demand is not compared
(`od_snapshot_error`) and its spot zones are judged against the catalog's on-demand instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servestack.catalog.load import DATA_DIR, OFFERINGS_FILE
from servestack.catalog.refresh import RULES_FILE, _aws_rows, _read_csv, gcp_price_records
from servestack.catalog.spot import regional_spot

__all__ = ["Reference", "compare", "main", "reference_rows", "run", "OD_TOLERANCE", "SPOT_TOLERANCE", "EXCERPT_DIR"]

OD_TOLERANCE = 0.02
SPOT_TOLERANCE = 0.10
EXCERPT_DIR = Path(__file__).resolve().parents[2] / "tests" / "catalog" / "fixtures"
AWS_EXCERPT = EXCERPT_DIR / "skypilot_v9_aws_vms.csv"
GCP_EXCERPT = EXCERPT_DIR / "skypilot_v9_gcp_vms.csv"

Key = tuple[str, str, str]
"""(cloud, region, instance_type)"""


@dataclass(frozen=True)
class Reference:
    """The snapshot's figures for one (cloud, region, type): None where it has none or they are not usable."""

    on_demand: float | None
    spot: float | None
    spot_zones: tuple[str, ...]
    od_snapshot_error: bool = False


def _close(ours: float | None, theirs: float | None, tolerance: float) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) <= tolerance * theirs


def _aws_reference(records: list[dict[str, str]], wanted: set[str]) -> dict[Key, Reference]:
    return {
        ("aws", row.region, row.instance_type): Reference(row.on_demand, row.spot, row.spot_zones)
        for row in _aws_rows(records, wanted, "snapshot")
    }


def _gcp_reference(
    records: list[dict[str, str]], gpu_of: dict[str, tuple[str, int]], catalog_od: dict[Key, float]
) -> dict[Key, Reference]:
    """Machine row + the GPU row with the type's GPU count, per zone, summed; then the spot rule per region."""
    hosts, gpus, region_of = gcp_price_records(records)

    per_region: dict[Key, list[tuple[str, float, float | None, bool]]] = defaultdict(list)
    for (itype, zone), (host_od, host_spot) in hosts.items():
        if itype not in gpu_of:
            continue
        name, count = gpu_of[itype]
        gpu = gpus.get((name, count, zone))
        if gpu is None:
            continue
        gpu_od, gpu_spot = gpu
        spot = host_spot + gpu_spot if host_spot is not None and gpu_spot is not None else None
        gpu_error = gpu_spot is not None and gpu_od < gpu_spot
        per_region[("gcp", region_of[zone], itype)].append((zone, host_od + gpu_od, spot, gpu_error))

    out: dict[Key, Reference] = {}
    for key, zones in per_region.items():
        error = any(e for _, _, _, e in zones)
        od = max(o for _, o, _, _ in zones)
        # A wrong on-demand figure cannot judge which zones are discounted; the catalog's list price can.
        ceiling = catalog_od.get(key, od) if error else od
        figure = regional_spot({z: s for z, _, s, _ in zones if s is not None}, ceiling)
        out[key] = Reference(
            None if error else od,
            figure.price if figure else None,
            figure.zones if figure else (),
            od_snapshot_error=error,
        )
    return out


def reference_rows(
    doc: dict[str, Any], aws_csv: Path | None = AWS_EXCERPT, gcp_csv: Path | None = GCP_EXCERPT
) -> dict[Key, Reference]:
    """The snapshot's figures for the catalog's (cloud, region, type) rows, from either or both CSVs."""
    rules = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    ref: dict[Key, Reference] = {}
    if aws_csv is not None:
        wanted_aws = {it["instance_type"] for it in doc["instance_types"] if it["cloud"] == "aws"}
        ref.update(_aws_reference(_read_csv(aws_csv), wanted_aws))
    if gcp_csv is not None:
        gpu_of = {k: (v[0], int(v[1])) for k, v in rules["gcp_gpu"].items()}
        # Types without a snapshot-name rule (G2) use their own accelerator id, which SkyPilot spells alike (L4).
        for it in doc["instance_types"]:
            if it["cloud"] == "gcp" and it["instance_type"] not in gpu_of:
                gpu_of[it["instance_type"]] = (it["accelerator"], int(it["accelerators_per_node"]))
        catalog_od = {(r["cloud"], r["region"], r["instance_type"]): float(r["on_demand"]) for r in doc["prices"]}
        ref.update(_gcp_reference(_read_csv(gcp_csv), gpu_of, catalog_od))
    return ref


def compare(doc: dict[str, Any], ref: dict[Key, Reference]) -> dict[str, Any]:
    """Per-row agreement of `doc`'s prices with the reference rows, and the shares within tolerance."""
    od_results: list[bool] = []
    spot_results: list[bool] = []
    differ: list[dict[str, Any]] = []
    not_covered: list[list[str]] = []
    od_errors: list[list[str]] = []
    for row in doc["prices"]:
        key = (row["cloud"], row["region"], row["instance_type"])
        r = ref.get(key)
        if r is None:
            not_covered.append(list(key))
            continue
        od_ok: bool | None = None
        if r.od_snapshot_error:
            od_errors.append(list(key))
        else:
            od_ok = _close(row["on_demand"], r.on_demand, OD_TOLERANCE)
            od_results.append(od_ok)
        spot_ok = _close(row["spot"], r.spot, SPOT_TOLERANCE)
        spot_results.append(spot_ok)
        if od_ok is False or not spot_ok:
            differ.append({
                "row": list(key),
                "on_demand": row["on_demand"],
                "ref_on_demand": None if r.on_demand is None else round(r.on_demand, 5),
                "on_demand_ok": od_ok,
                "spot": row["spot"],
                "ref_spot": None if r.spot is None else round(r.spot, 5),
                "spot_ok": spot_ok,
                "ref_spot_zones": list(r.spot_zones),
            })

    def share(results: list[bool]) -> float | None:
        return round(sum(results) / len(results), 4) if results else None

    return {
        "rows": len(doc["prices"]),
        "compared": len(spot_results),
        "on_demand_compared": len(od_results),
        "on_demand_within": sum(od_results),
        "on_demand_within_2pct": share(od_results),
        "spot_compared": len(spot_results),
        "spot_within": sum(spot_results),
        "spot_within_10pct": share(spot_results),
        "differ": differ,
        "on_demand_snapshot_errors": od_errors,
        "not_covered": not_covered,
    }


def run(
    catalog_dir: Path = DATA_DIR, aws_csv: Path | None = AWS_EXCERPT, gcp_csv: Path | None = GCP_EXCERPT
) -> dict[str, Any]:
    """The comparison of the catalog in `catalog_dir` with the given snapshot files (default: the excerpts)."""
    doc = json.loads((catalog_dir / OFFERINGS_FILE).read_text(encoding="utf-8"))
    return compare(doc, reference_rows(doc, aws_csv, gcp_csv))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m servestack.catalog.crosscheck", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--aws-vms", type=Path, default=AWS_EXCERPT,
                        help="SkyPilot-format AWS vms.csv (default: the committed v9 excerpt)")
    parser.add_argument("--gcp-vms", type=Path, default=GCP_EXCERPT,
                        help="SkyPilot-format GCP vms.csv (default: the committed v9 excerpt)")
    parser.add_argument("--catalog", type=Path, default=DATA_DIR, help="catalog directory (default: bundled)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    for flag, path in (("--aws-vms", args.aws_vms), ("--gcp-vms", args.gcp_vms),
                       ("--catalog", args.catalog / OFFERINGS_FILE)):
        if not path.is_file():
            print(f"error: {flag}: {path} is not a readable file", file=sys.stderr)
            return 2
    report = run(args.catalog, args.aws_vms, args.gcp_vms)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{report['compared']} of {report['rows']} rows covered by the snapshot")
    print(f"on-demand within 2 %: {report['on_demand_within']} / {report['on_demand_compared']}; "
          f"spot within 10 %: {report['spot_within']} / {report['spot_compared']}")
    for d in report["differ"]:
        print(f"  differs: {' '.join(d['row'])}: on-demand {d['on_demand']} vs {d['ref_on_demand']}, "
              f"spot {d['spot']} vs {d['ref_spot']} ({', '.join(d['ref_spot_zones']) or 'no discounted zone'})")
    for key in report["on_demand_snapshot_errors"]:
        print(f"  snapshot on-demand below its own spot (not compared): {' '.join(key)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
