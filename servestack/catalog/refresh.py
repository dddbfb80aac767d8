"""Rebuild the price rows of offerings.json from SkyPilot-format catalog CSVs plus documented rules.

Run as `python -m servestack.catalog.refresh --aws-vms AWS.csv --gcp-vms GCP.csv --as-of YYYY-MM-DD`.
The per-type facts (instance_types) in the current offerings.json are kept as they are; only the
`prices` list and the file's `as_of` are rewritten. Every derivation parameter (committed-use
ratios, published price cuts, size ratios, GCP host rates) comes from refresh_rules.json, each with
its source, so that docs/catalog.md can explain every number.

Input columns (SkyPilot catalog v7 vms.csv; extra columns are ignored):
AWS: InstanceType, Price, SpotPrice, Region, AvailabilityZone.
GCP: InstanceType, AcceleratorName, AcceleratorCount, Region, AvailabilityZone, Price, SpotPrice —
host rows carry InstanceType, accelerator rows carry AcceleratorName/AcceleratorCount instead.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servestack.catalog.load import DATA_DIR, OFFERINGS_FILE
from servestack.catalog.spot import regional_spot

__all__ = ["main", "build_prices", "commitment", "dump_offerings", "is_regular_aws_zone_id", "RULES_FILE"]

RULES_FILE = DATA_DIR / "refresh_rules.json"
FALLBACK_NOTE = "estimate, fallback ratio, no per-family rate found"


@dataclass
class _Row:
    """One priced (type, region) pair before committed prices are derived."""

    cloud: str
    instance_type: str
    region: str
    zones: set[str]
    on_demand: float
    spot: float | None
    source: str
    current: bool = False
    """True when on_demand already reflects published price cuts (hand-entered list prices)."""
    spot_zones: tuple[str, ...] = ()
    """The zones whose spot price (below on-demand) made up the spot median."""


def _num(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    return float(text)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


_REGULAR_AWS_ZONE_ID = re.compile(r"^[a-z]+[0-9]+-az[0-9]+$")
"""use1-az1 is a regular zone; use1-atl2-az1 (Local Zone) and use1-wl1-... (Wavelength) are not."""


def is_regular_aws_zone_id(zone_id: str) -> bool:
    return bool(_REGULAR_AWS_ZONE_ID.match(zone_id))


def _aws_rows(records: list[dict[str, str]], wanted: set[str], source: str) -> list[_Row]:
    grouped: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for rec in records:
        if rec["InstanceType"] in wanted and is_regular_aws_zone_id(rec["AvailabilityZone"]):
            grouped[(rec["InstanceType"], rec["Region"])].append(rec)
    rows = []
    for (itype, region), recs in sorted(grouped.items()):
        prices = [p for p in (_num(r["Price"]) for r in recs) if p is not None]
        if not prices:
            continue
        od = max(prices)
        zone_spots = {r["AvailabilityZone"]: s for r in recs if (s := _num(r.get("SpotPrice"))) is not None}
        figure = regional_spot(zone_spots, od)
        rows.append(
            _Row(
                "aws", itype, region, {r["AvailabilityZone"] for r in recs}, od,
                figure.price if figure else None, source, spot_zones=figure.zones if figure else (),
            )
        )
    return rows


ZonePrice = tuple[float, float | None]
"""(on-demand, spot or None) USD per hour in one zone."""


def gcp_price_records(
    records: list[dict[str, str]],
) -> tuple[dict[tuple[str, str], ZonePrice], dict[tuple[str, int, str], ZonePrice], dict[str, str]]:
    """A GCP vms.csv (skypilot-catalog layout) split into machine rows by (type, zone), accelerator rows by
    (accelerator, count, zone), and each zone's region; rows without an on-demand price are skipped."""
    hosts: dict[tuple[str, str], ZonePrice] = {}
    gpus: dict[tuple[str, int, str], ZonePrice] = {}
    zone_region: dict[str, str] = {}
    for rec in records:
        od = _num(rec["Price"])
        if od is None:
            continue
        spot = _num(rec.get("SpotPrice"))
        zone_region[rec["AvailabilityZone"]] = rec["Region"]
        if rec.get("InstanceType"):
            hosts[(rec["InstanceType"], rec["AvailabilityZone"])] = (od, spot)
        elif rec.get("AcceleratorName"):
            gpus[(rec["AcceleratorName"], int(float(rec["AcceleratorCount"])), rec["AvailabilityZone"])] = (od, spot)
    return hosts, gpus, zone_region


def _gcp_rows(
    records: list[dict[str, str]], gpu_of: dict[str, tuple[str, int]], anomaly_ratio: float, source: str
) -> tuple[list[_Row], dict[str, dict[str, tuple[float, float | None, set[str]]]]]:
    """Host price + accelerator price per zone, summed; returns rows and per-GPU prices by region."""
    hosts, gpu_rows, zone_region = gcp_price_records(records)
    gpus: dict[tuple[str, str], dict[int, tuple[float, float | None]]] = defaultdict(dict)
    for (name, count, zone), price in gpu_rows.items():
        gpus[(name, zone)][count] = price

    def per_gpu(name: str, zone: str) -> tuple[float, float | None] | None:
        by_count = gpus.get((name, zone))
        if not by_count:
            return None
        count = max(by_count)
        od, spot = by_count[count]
        return od / count, (spot / count if spot is not None else None)

    # Some snapshot rows carry per-GPU prices far below the same GPU elsewhere (non-list SKUs);
    # drop a (GPU, zone) whose per-GPU on-demand price is below anomaly_ratio x that GPU's highest.
    highest: dict[str, float] = defaultdict(float)
    for (name, zone) in gpus:
        unit = per_gpu(name, zone)
        if unit is not None:
            highest[name] = max(highest[name], unit[0])

    per_region: dict[str, dict[str, tuple[float, float | None, set[str]]]] = defaultdict(dict)
    for (name, zone) in gpus:
        unit = per_gpu(name, zone)
        if unit is None or unit[0] < anomaly_ratio * highest[name]:
            continue
        region = zone_region[zone]
        od, spot, zones = per_region[name].get(region, (unit[0], unit[1], set()))
        zones.add(zone)
        per_region[name][region] = (max(od, unit[0]), spot, zones)

    grouped: dict[tuple[str, str], list[tuple[str, float, float | None]]] = defaultdict(list)
    for (itype, zone), host in hosts.items():
        if itype not in gpu_of:
            continue
        name, count = gpu_of[itype]
        unit = per_gpu(name, zone)
        if unit is None or unit[0] < anomaly_ratio * highest[name]:
            continue
        host_od, host_spot = host
        total_od = host_od + count * unit[0]
        total_spot = host_spot + count * unit[1] if host_spot is not None and unit[1] is not None else None
        grouped[(itype, zone_region[zone])].append((zone, total_od, total_spot))
    rows = []
    for (itype, region), items in sorted(grouped.items()):
        od = max(o for _, o, _ in items)
        figure = regional_spot({z: s for z, _, s in items if s is not None}, od)
        rows.append(
            _Row(
                "gcp", itype, region, {z for z, _, _ in items}, od, figure.price if figure else None, source,
                spot_zones=figure.zones if figure else (),
            )
        )
    return rows, per_region


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 5)


def build_prices(
    instance_types: Sequence[dict[str, Any]],
    rules: dict[str, Any],
    aws_records: list[dict[str, str]],
    gcp_records: list[dict[str, str]],
    as_of: str,
) -> list[dict[str, Any]]:
    """Price rows for every (cloud, type, region) the inputs and rules cover, sorted for stable diffs."""
    wanted = {(it["cloud"], it["instance_type"]) for it in instance_types}
    aws_wanted = {t for c, t in wanted if c == "aws"}
    rows = _aws_rows(aws_records, aws_wanted, rules["sources"]["aws_snapshot"])
    gpu_of = {k: (v[0], int(v[1])) for k, v in rules["gcp_gpu"].items() if ("gcp", k) in wanted}
    gcp_rows, gpu_by_region = _gcp_rows(
        gcp_records, gpu_of, float(rules["gcp_anomaly_ratio"]), rules["sources"]["gcp_snapshot"]
    )
    rows += gcp_rows

    # Hosts the snapshot lacks (G2): published vCPU/GiB rates, scaled per region like their GPU.
    for synth in rules.get("gcp_synthetic_hosts", []):
        name = synth["scale_like"]
        regional = gpu_by_region.get(name, {})
        ref = regional.get(synth["reference_region"])
        if ref is None:
            continue
        for it in instance_types:
            if it["cloud"] != "gcp" or not it["instance_type"].startswith(synth["prefix"]):
                continue
            host_ref = it["vcpus"] * synth["vcpu_usd_hour"] + it["memory_gib"] * synth["gib_usd_hour"]
            n = it["accelerators_per_node"]
            for region, (gpu_od, gpu_spot, zones) in sorted(regional.items()):
                host_od = host_ref * gpu_od / ref[0]
                spot = None
                if gpu_spot is not None:
                    spot = host_od * gpu_spot / gpu_od + n * gpu_spot
                rows.append(
                    _Row("gcp", it["instance_type"], region, set(zones), host_od + n * gpu_od, spot, synth["source"])
                )

    have = {(r.cloud, r.instance_type, r.region) for r in rows}
    for der in rules.get("derived", []):
        for ref_row in [r for r in rows if r.cloud == der["cloud"] and r.instance_type == der["from"]]:
            key = (der["cloud"], der["instance_type"], ref_row.region)
            if key in have or (der["cloud"], der["instance_type"]) not in wanted:
                continue
            ratio = float(der["ratio"])
            rows.append(
                _Row(
                    der["cloud"],
                    der["instance_type"],
                    ref_row.region,
                    set(ref_row.zones),
                    ref_row.on_demand * ratio,
                    # Spot discounts do not scale with size: a derived size gets no spot figure.
                    None,
                    f"{ref_row.source}; {der['source']}; spot not derived from another size",
                )
            )
            have.add(key)

    for man in rules.get("manual", []):
        if (man["cloud"], man["instance_type"]) not in wanted:
            continue
        key = (man["cloud"], man["instance_type"], man["region"])
        rows = [r for r in rows if (r.cloud, r.instance_type, r.region) != key]
        spot = float(man["spot"]) if man.get("spot") is not None else None
        zones = set(man.get("zones", []))
        rows.append(
            _Row(
                *key[:2], man["region"], zones, float(man["on_demand"]), spot, man["source"], current=True,
                spot_zones=tuple(sorted(man.get("spot_zones", []))),
            )
        )

    cuts = {(c["cloud"], c["instance_type"]): c for c in rules.get("price_cuts", [])}
    out = []
    for row in sorted(rows, key=lambda r: (r.cloud, r.instance_type, r.region)):
        od = row.on_demand
        source = row.source
        cut = cuts.get((row.cloud, row.instance_type))
        if cut is not None and not row.current:
            od *= float(cut["factor"])
            source = f"{source}; {cut['source']}"
        # A spot figure above the (possibly cut) on-demand price is never the cheaper choice.
        spot = min(row.spot, od) if row.spot is not None else None
        one_year, three_year, commit_source = commitment(rules, row.cloud, row.instance_type)
        estimated = commit_source.startswith(FALLBACK_NOTE)
        out.append(
            {
                "cloud": row.cloud,
                "region": row.region,
                "instance_type": row.instance_type,
                "zones": sorted(row.zones),
                "on_demand": _round(od),
                "spot": _round(spot),
                "committed_1y": _round(od * one_year),
                "committed_3y": _round(od * three_year),
                "committed_1y_estimated": estimated,
                "committed_3y_estimated": estimated,
                "spot_zones": list(row.spot_zones) if spot is not None else [],
                "spot_as_of": as_of if spot is not None else None,
                "source": f"{source}; committed: {commit_source}",
                "as_of": as_of,
            }
        )
    return out


def commitment(rules: dict[str, Any], cloud: str, instance_type: str) -> tuple[float, float, str]:
    """(1-year ratio, 3-year ratio, source) for a type: its family's published rate, else the cloud's fallback.

    Family rules are matched by instance-type prefix, longest first, so that a rule for
    `a2-ultragpu-` is not shadowed by one for `a2-`.
    """
    families = [f for f in rules.get("commitment_families", []) if f["cloud"] == cloud]
    for fam in sorted(families, key=lambda f: len(f["prefix"]), reverse=True):
        if instance_type.startswith(fam["prefix"]):
            return float(fam["1y"]), float(fam["3y"]), str(fam["source"])
    fallback = rules["commitment"][cloud]
    note = f"{FALLBACK_NOTE}: {fallback['source']}"
    return float(fallback["1y"]), float(fallback["3y"]), note


def dump_offerings(doc: dict[str, Any]) -> str:
    """offerings.json text with one row per line, so a price change is a one-line diff."""
    lines = ["{", f'  "schema_version": {doc["schema_version"]},', f'  "as_of": "{doc["as_of"]}",']
    for key in ("instance_types", "prices"):
        lines.append(f'  "{key}": [')
        lines.append(",\n".join("    " + json.dumps(row) for row in doc[key]))
        lines.append("  ]," if key == "instance_types" else "  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servestack.catalog.refresh", description=__doc__.splitlines()[0])
    parser.add_argument("--aws-vms", type=Path, required=True, help="SkyPilot-format AWS vms.csv")
    parser.add_argument("--gcp-vms", type=Path, required=True, help="SkyPilot-format GCP vms.csv")
    parser.add_argument("--as-of", required=True, help="date the inputs were taken, YYYY-MM-DD")
    parser.add_argument("--rules", type=Path, default=RULES_FILE)
    parser.add_argument("--offerings", type=Path, default=DATA_DIR / OFFERINGS_FILE, help="file to rewrite")
    args = parser.parse_args(argv)
    doc = json.loads(args.offerings.read_text(encoding="utf-8"))
    rules = json.loads(args.rules.read_text(encoding="utf-8"))
    doc["prices"] = build_prices(
        doc["instance_types"], rules, _read_csv(args.aws_vms), _read_csv(args.gcp_vms), args.as_of
    )
    doc["as_of"] = args.as_of
    args.offerings.write_text(dump_offerings(doc), encoding="utf-8")
    print(f"wrote {len(doc['prices'])} price rows to {args.offerings}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
