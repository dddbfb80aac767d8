"""The real bundled catalog: coverage, consistency and load time."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict

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
        assert off.source and off.as_of == cat.as_of, where
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


def test_cold_load_is_fast() -> None:
    code = (
        "import time; t=time.perf_counter(); import servestack.catalog as c; c.load_catalog(); "
        "print(time.perf_counter()-t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Includes importing pydantic; a loose ceiling that still catches an accidental slow path.
    assert float(out.stdout) < 0.5
    assert (DATA_DIR / "offerings.json").stat().st_size < 400_000
