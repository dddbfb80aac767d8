"""Aliases, regions, filters and per-type facts over a small synthetic catalog."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from servestack.catalog import Catalog, Offering, load_catalog
from servestack.errors import SpecError


@pytest.fixture
def cat(tmp_path: Path, write_catalog: Callable[..., Path]) -> Catalog:
    return load_catalog(write_catalog(tmp_path / "lookup"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("H100", "H100"), ("h100", "H100"), ("h100-sxm", "H100"), ("NVIDIA-H100-80GB", "H100"), (" nvidia_l4 ", "L4")],
)
def test_aliases_resolve_case_insensitively(cat: Catalog, name: str, expected: str) -> None:
    assert cat.resolve_accelerator(name) == expected


def test_unknown_accelerator_names_field_allowed_and_hint(cat: Catalog) -> None:
    with pytest.raises(SpecError) as err:
        cat.resolve_accelerator("h100-sx", field="placement.accelerators_allowed[0]")
    assert err.value.field == "placement.accelerators_allowed[0]"
    assert err.value.value == "h100-sx"
    assert "H100, L4" in err.value.allowed
    # The closest spelling is an alias; the hint shows the canonical id it stands for.
    assert "did you mean 'H100'" in err.value.allowed


def test_regions_per_cloud_and_all(cat: Catalog) -> None:
    assert cat.regions("aws") == ["eu-west-2", "us-east-1"]
    assert cat.regions("gcp") == ["us-central1"]
    assert cat.regions() == ["eu-west-2", "us-central1", "us-east-1"]


def test_resolve_region(cat: Catalog) -> None:
    assert cat.resolve_region("aws", "US-EAST-1") == "us-east-1"
    with pytest.raises(SpecError, match="did you mean 'us-east-1'"):
        cat.resolve_region("aws", "us-east-2")
    # A region of the other cloud is not a region of this one.
    with pytest.raises(SpecError) as err:
        cat.resolve_region("gcp", "us-east-1", field="placement.regions[0]")
    assert err.value.field == "placement.regions[0]"


def test_filter_combinations(cat: Catalog) -> None:
    assert len(cat.filter()) == 4
    assert {o.cloud for o in cat.filter(cloud="gcp")} == {"gcp"}
    assert [o.instance_type for o in cat.filter(accelerator="h100-sxm")] == ["p5.48xlarge"]
    l4_aws = cat.filter(cloud="aws", accelerator="nvidia-l4")
    assert sorted(o.region for o in l4_aws) == ["eu-west-2", "us-east-1"]
    assert cat.filter(cloud="aws", accelerator="L4", region="eu-west-2")[0].price_on_demand == 1.0
    with pytest.raises(SpecError, match="cloud: 'azure'"):
        cat.filter(cloud="azure")


def test_find_offering_and_instance_facts(cat: Catalog) -> None:
    assert cat.find_offering("aws", "us-east-1", "p5.48xlarge") is not None
    assert cat.find_offering("aws", "eu-west-2", "p5.48xlarge") is None
    facts = cat.instance_facts("aws", "p5.48xlarge")
    assert facts is not None
    assert (facts.accelerator, facts.accelerators_per_node, facts.multi_node_network) == ("H100", 8, "efa")
    assert cat.instance_facts("aws", "m5.large") is None


def test_accelerator_for_gcp_type(cat: Catalog) -> None:
    assert cat.accelerator_for_gcp_type("nvidia-l4") == "L4"
    # Known through the alias table even without an instance type that attaches it.
    assert cat.accelerator_for_gcp_type("nvidia-h100-80gb") == "H100"
    assert cat.accelerator_for_gcp_type("nvidia-tesla-k80") is None


def test_price_modes_and_null(cat: Catalog) -> None:
    off = cat.find_offering("aws", "us-east-1", "p5.48xlarge")
    assert off is not None
    assert off.price("on_demand") == 55.04
    assert off.price("spot") is None and off.price("3y") is None


def test_from_offerings_builds_a_synthetic_catalog(cat: Catalog) -> None:
    # A one-offering catalog from records, as benchmarks build them.
    base = cat.find_offering("gcp", "us-central1", "g2-standard-4")
    assert base is not None
    moved = Offering(**{**{f: getattr(base, f) for f in Offering.__slots__}, "region": "europe-west4"})
    synth = Catalog.from_offerings(cat.accelerators.values(), [moved], as_of="2030-01-01")
    assert synth.regions("gcp") == ["europe-west4"]
    assert synth.resolve_accelerator("nvidia-l4") == "L4"
    facts = synth.instance_facts("gcp", "g2-standard-4")
    assert facts is not None and facts.vcpus == 4


@pytest.mark.parametrize(("name", "expected"), [("A 100", "A100-40GB"), ("L40 S", "L40S"), ("l40_s", "L40S"),
                                                ("H 100", "H100"), ("a100 80gb", "A100-80GB")])
def test_bundled_lookups_ignore_spaces_underscores_and_hyphens(name: str, expected: str) -> None:
    # docs/catalog.md promises that `A 100` and `L40 S` resolve; before, spaces became hyphens and they did not.
    assert load_catalog().resolve_accelerator(name) == expected


def test_no_two_bundled_accelerators_share_a_lookup_key() -> None:
    from servestack.catalog.catalog import _norm

    catalog = load_catalog()
    owner: dict[str, str] = {}
    for acc in catalog.accelerators.values():
        for name in (acc.id, *acc.aliases):
            assert owner.setdefault(_norm(name), acc.id) == acc.id, f"{name!r} collides after normalisation"
