"""The real bundled catalog: coverage, consistency and load time."""

from __future__ import annotations

from collections import defaultdict

import pytest

from servestack.catalog import load_catalog
from servestack.catalog.load import DATA_DIR

AWS_FAMILIES = {"g4dn", "g5", "g6", "g6e", "p4d", "p4de", "p5"}
GCP_FAMILIES = {"g2-standard", "a2-highgpu", "a2-ultragpu", "a3-highgpu", "a3-megagpu", "a3-ultragpu"}


def _family(cloud: str, instance_type: str) -> str:
    return instance_type.split(".")[0] if cloud == "aws" else instance_type.rsplit("-", 1)[0]


def test_families_regions_and_sizes_are_covered() -> None:
    cat = load_catalog()
    families: dict[str, set[str]] = defaultdict(set)
    sizes: dict[str, set[str]] = defaultdict(set)
    for off in cat.offerings:
        fam = _family(off.cloud, off.instance_type)
        families[off.cloud].add(fam)
        sizes[fam].add(off.instance_type)
    assert families["aws"] >= AWS_FAMILIES
    assert {"p5e", "p5en"} & families["aws"]
    assert families["gcp"] >= GCP_FAMILIES
    assert len(cat.regions("aws")) >= 8
    assert len(cat.regions("gcp")) >= 6
    for fam in ("g5", "g6", "g6e", "g4dn", "g2-standard", "a2-highgpu", "a2-ultragpu"):
        assert len(sizes[fam]) >= 3, fam


def test_every_canonical_accelerator_and_gcp_name_resolves() -> None:
    cat = load_catalog()
    canonical = {"T4", "A10G", "L4", "L40S", "A100-40GB", "A100-80GB", "H100", "H100-PCIe", "H200", "B200", "MI300X",
                 "Inferentia2"}
    assert set(cat.accelerators) == canonical
    for alias, expected in {"h100-sxm": "H100", "nvidia-h100-80gb": "H100", "a100": "A100-40GB",
                            "nvidia-tesla-t4": "T4", "nvidia-l4": "L4", "a10": "A10G", "inf2": "Inferentia2",
                            "nvidia-tesla-a100": "A100-40GB", "nvidia-a100-80gb": "A100-80GB",
                            "nvidia-h200-141gb": "H200"}.items():
        assert cat.resolve_accelerator(alias) == expected
    for it in cat.instance_types("gcp"):
        assert it.gcp_accelerator_type is not None
        assert cat.accelerator_for_gcp_type(it.gcp_accelerator_type) == it.accelerator


def test_prices_are_sane_and_dated() -> None:
    cat = load_catalog()
    for off in cat.offerings:
        where = f"{off.cloud} {off.region} {off.instance_type}"
        assert off.price_on_demand is not None and off.price_on_demand > 0, where
        if off.price_spot is not None:
            assert off.price_spot <= off.price_on_demand, where
        assert off.price_1y is not None and off.price_3y is not None, where
        assert off.price_3y < off.price_1y < off.price_on_demand, where
        # Rows keep the day their prices were read: the file's as_of is the newest of them.
        assert off.source and off.as_of <= cat.as_of, where
    # Regions differ in price: the same type is not priced identically everywhere.
    g6 = {o.region: o.price_on_demand for o in cat.filter(cloud="aws") if o.instance_type == "g6.2xlarge"}
    assert len(set(g6.values())) >= 5


def test_june_2025_p_family_cut_is_applied() -> None:
    cat = load_catalog()
    p5 = cat.find_offering("aws", "us-east-1", "p5.48xlarge")
    p4d = cat.find_offering("aws", "us-east-1", "p4d.24xlarge")
    assert p5 is not None and p4d is not None
    assert p5.price_on_demand is not None and p5.price_on_demand < 60
    assert p4d.price_on_demand is not None and p4d.price_on_demand < 23


def test_multi_node_fabric_only_on_scale_out_types() -> None:
    cat = load_catalog()
    fabric = {it.instance_type for it in cat.instance_types() if it.multi_node_network}
    assert {"p4d.24xlarge", "p5.48xlarge", "a3-highgpu-8g", "a3-megagpu-8g", "a3-ultragpu-8g"} <= fabric
    assert not any(t.startswith(("g4dn", "g5.", "g6", "g2-")) for t in fabric)


def test_catalog_data_stays_small() -> None:
    # Cold-load time is measured in benchmarks/bench_startup.py; here only what cannot flake: the file size.
    assert (DATA_DIR / "offerings.json").stat().st_size < 400_000


def test_gcp_rows_once_dropped_as_suspect_are_back_at_list_price() -> None:
    cat = load_catalog()
    a3 = cat.find_offering("gcp", "us-central1", "a3-highgpu-8g")
    east = cat.find_offering("gcp", "us-east4", "a3-highgpu-8g")
    assert a3 is not None and east is not None and a3.price_on_demand is not None
    # GCP prices A3 High alike in us-central1 and us-east4; the dropped SKU was less than half of this.
    assert a3.price_on_demand == east.price_on_demand
    a2 = {n: cat.find_offering("gcp", "us-central1", f"a2-ultragpu-{n}g") for n in (1, 2, 4, 8)}
    prices = {n: o.price_on_demand for n, o in a2.items() if o is not None}
    assert set(prices) == {1, 2, 4, 8}
    assert all(abs(p - n * prices[1]) < 1e-3 for n, p in prices.items())
    h200 = [o for o in cat.filter(cloud="gcp") if o.instance_type == "a3-ultragpu-8g"]
    europe = [o for o in h200 if o.region.startswith("europe")]
    assert europe and all("unconfirmed" in o.source for o in europe)


def test_p_family_rows_have_zones_and_spot_where_offered() -> None:
    cat = load_catalog()
    for off in cat.filter(cloud="aws"):
        assert off.zones, f"{off.region} {off.instance_type} has no zones"
        assert all(z.count("-") == 1 and "-az" in z for z in off.zones), off.zones  # zone IDs, not names
    p5 = [o for o in cat.filter(cloud="aws") if o.instance_type == "p5.48xlarge"]
    assert {"us-east-1", "us-east-2", "us-west-2", "eu-north-1", "ap-northeast-1"} <= {o.region for o in p5}
    assert any(o.price_spot is not None and o.price_spot < 0.5 * (o.price_on_demand or 0) for o in p5)


def test_committed_prices_name_their_basis() -> None:
    cat = load_catalog()
    for off in cat.offerings:
        basis = off.source.split("; committed: ", 1)[1]
        family_rate = off.cloud == "gcp" and off.instance_type.startswith(
            ("a2-highgpu-", "a3-highgpu-", "a3-megagpu-", "g2-standard-")
        )
        assert family_rate != ("fallback ratio" in basis), (off.instance_type, basis)
        # plan marks fallback-ratio commitments as estimates; the flag must agree with the stated basis.
        assert off.price_1y_estimated == off.price_3y_estimated == (not family_rate), (off.instance_type, basis)


def test_sourced_gcp_commitment_rates() -> None:
    cat = load_catalog()
    for prefix, (one, three) in {"a2-highgpu-": (0.63, 0.35), "g2-standard-": (0.63, 0.45)}.items():
        rows = [o for o in cat.filter(cloud="gcp") if o.instance_type.startswith(prefix)]
        assert rows, prefix
        for o in rows:
            assert o.price_on_demand is not None and o.price_1y is not None and o.price_3y is not None
            assert o.price_1y == pytest.approx(one * o.price_on_demand, abs=1e-4), o.instance_type
            assert o.price_3y == pytest.approx(three * o.price_on_demand, abs=1e-4), o.instance_type


def test_spot_is_never_scaled_from_another_size() -> None:
    for off in load_catalog().filter(cloud="aws"):
        # A size whose on-demand is derived from another size may carry spot only when that spot was read
        # for the size itself from a snapshot, with the zones it is the median of.
        if "derived:" in off.source and "spot taken from skypilot-catalog" not in off.source:
            assert off.price_spot is None, f"{off.region} {off.instance_type}: derived spot {off.price_spot}"
        elif "derived:" in off.source:
            assert off.spot_zones, f"{off.region} {off.instance_type}: spot without zones"


def test_rows_read_from_the_new_snapshot_name_their_spot_zones_and_day() -> None:
    cat = load_catalog()
    reread = [o for o in cat.offerings if o.as_of == cat.as_of and o.price_spot is not None]
    assert len(reread) > 100
    for o in reread:
        where = f"{o.region} {o.instance_type}"
        assert o.spot_zones and set(o.spot_zones) <= set(o.zones), where
        assert o.spot_as_of == cat.as_of, where


def test_issue_rows_are_corrected() -> None:
    cat = load_catalog()

    def spot(region: str, itype: str) -> float | None:
        o = cat.find_offering("aws", region, itype)
        assert o is not None, (region, itype)
        return o.price_spot

    # Zones quoting on-demand no longer pull the p5 us-east-1 median up (was 31.04).
    assert spot("us-east-1", "p5.48xlarge") == pytest.approx(18.42, abs=0.01)
    # "No discount" rows that the snapshot shows discounted.
    for region, itype in (("eu-central-1", "p4de.24xlarge"), ("ap-southeast-2", "p5.48xlarge")):
        o = cat.find_offering("aws", region, itype)
        assert o is not None and o.price_spot is not None and o.price_spot < 0.9 * (o.price_on_demand or 0)
    # Spot scaled from another size showed ~90 % discounts; the zones' own prices are about half of on-demand.
    for region in ("ap-south-1", "ap-southeast-2"):
        o = cat.find_offering("aws", region, "g6.12xlarge")
        assert o is not None and o.price_spot is not None and o.price_spot > 0.4 * (o.price_on_demand or 0)
    # The g5.xlarge spot price in ap-southeast-2 was about a quarter of the real one.
    assert spot("ap-southeast-2", "g5.xlarge") == pytest.approx(0.6635, abs=1e-4)


def test_missing_offerings_are_added() -> None:
    cat = load_catalog()
    for region, itype in (("us-west-2", "g5.xlarge"), ("us-west-2", "g5.12xlarge"), ("eu-north-1", "p4d.24xlarge"),
                          ("eu-west-2", "p4d.24xlarge"), ("ap-northeast-2", "p5.48xlarge")):
        assert cat.find_offering("aws", region, itype) is not None, (region, itype)
