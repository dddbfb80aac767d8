"""Cross-check the catalog's prices against an independent SkyPilot-format snapshot (vms.csv per cloud).

Run as `python -m servestack.catalog.crosscheck --aws-vms AWS.csv [--gcp-vms GCP.csv] [--catalog DIR] [--json]`.
Not run by the tests: the snapshot files are not part of the repository.

For every catalog row the snapshot covers, the snapshot's on-demand price (highest zone) and its spot price
under the catalog's own rule (`servestack.catalog.spot`: median of the discounted regular zones) are
compared with the row. It reports the share of rows whose on-demand is within 2 % and whose spot is within
10 %, and lists every row that differs, so docs/catalog.md can explain them. GCP snapshot rows whose node
on-demand price is below its own spot price are reported as snapshot errors and not compared.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from servestack.catalog.load import DATA_DIR, OFFERINGS_FILE
from servestack.catalog.refresh import RULES_FILE, _aws_rows, _gcp_rows, _read_csv

__all__ = ["compare", "main", "OD_TOLERANCE", "SPOT_TOLERANCE"]

OD_TOLERANCE = 0.02
SPOT_TOLERANCE = 0.10


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance * b


def _reference(aws_csv: Path | None, gcp_csv: Path | None, doc: dict[str, Any]) -> dict[tuple[str, str, str], Any]:
    rules = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    wanted_aws = {it["instance_type"] for it in doc["instance_types"] if it["cloud"] == "aws"}
    ref: dict[tuple[str, str, str], Any] = {}
    if aws_csv is not None:
        for row in _aws_rows(_read_csv(aws_csv), wanted_aws, "snapshot"):
            ref[("aws", row.region, row.instance_type)] = row
    if gcp_csv is not None:
        gpu_of = {k: (v[0], int(v[1])) for k, v in rules["gcp_gpu"].items()}
        rows, _ = _gcp_rows(_read_csv(gcp_csv), gpu_of, float(rules["gcp_anomaly_ratio"]), "snapshot")
        for row in rows:
            ref[("gcp", row.region, row.instance_type)] = row
    return ref


def compare(doc: dict[str, Any], ref: dict[tuple[str, str, str], Any]) -> dict[str, Any]:
    """Per-row agreement of `doc`'s prices with the reference rows, and the shares within tolerance."""
    compared, differ, snapshot_errors, not_covered = [], [], [], []
    for row in doc["prices"]:
        key = (row["cloud"], row["region"], row["instance_type"])
        r = ref.get(key)
        if r is None:
            not_covered.append(list(key))
            continue
        if r.spot is not None and r.spot > r.on_demand:
            snapshot_errors.append({"row": list(key), "on_demand": r.on_demand, "spot": r.spot})
            continue
        od_ok = _close(row["on_demand"], r.on_demand, OD_TOLERANCE)
        spot_ok = _close(row["spot"], r.spot, SPOT_TOLERANCE)
        compared.append((od_ok, spot_ok))
        if not (od_ok and spot_ok):
            differ.append({
                "row": list(key), "on_demand": row["on_demand"], "ref_on_demand": round(r.on_demand, 5),
                "spot": row["spot"], "ref_spot": None if r.spot is None else round(r.spot, 5),
                "ref_spot_zones": list(r.spot_zones),
            })
    n = len(compared)
    return {
        "rows": len(doc["prices"]),
        "compared": n,
        "on_demand_within_2pct": round(sum(o for o, _ in compared) / n, 4) if n else None,
        "spot_within_10pct": round(sum(s for _, s in compared) / n, 4) if n else None,
        "differ": differ,
        "snapshot_errors": snapshot_errors,
        "not_covered": not_covered,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m servestack.catalog.crosscheck", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--aws-vms", type=Path, help="SkyPilot-format AWS vms.csv (or an excerpt with its columns)")
    parser.add_argument("--gcp-vms", type=Path, help="SkyPilot-format GCP vms.csv")
    parser.add_argument("--catalog", type=Path, default=DATA_DIR, help="catalog directory (default: bundled)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    doc = json.loads((args.catalog / OFFERINGS_FILE).read_text(encoding="utf-8"))
    report = compare(doc, _reference(args.aws_vms, args.gcp_vms, doc))
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"{report['compared']} of {report['rows']} rows covered by the snapshot")
    print(f"on-demand within 2 %: {report['on_demand_within_2pct']}; spot within 10 %: {report['spot_within_10pct']}")
    for d in report["differ"]:
        print(f"  differs: {' '.join(d['row'])}: on-demand {d['on_demand']} vs {d['ref_on_demand']}, "
              f"spot {d['spot']} vs {d['ref_spot']} ({', '.join(d['ref_spot_zones']) or 'no discounted zone'})")
    for e in report["snapshot_errors"]:
        print(f"  snapshot error (on-demand below spot): {' '.join(e['row'])}: {e['on_demand']} < {e['spot']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
