"""Loader validation: every malformed file is a CatalogError that names the file, row and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from servestack.catalog import load_catalog
from servestack.errors import CatalogError

WriteCatalog = Callable[..., Path]


def test_valid_files_load_into_records(tmp_path: Path, write_catalog: WriteCatalog) -> None:
    cat = load_catalog(write_catalog(tmp_path / "ok"))
    assert cat.as_of == "2026-01-02"
    assert set(cat.accelerators) == {"L4", "H100"}
    off = cat.find_offering("aws", "us-east-1", "g6.xlarge")
    assert off is not None
    assert (off.price_on_demand, off.price_spot, off.price_1y, off.price_3y) == (0.8, 0.3, 0.5, 0.35)
    # Facts come from instance_types, memory per accelerator from the accelerator record.
    assert (off.vcpus, off.accelerator_memory_gib, off.zones) == (4, 24.0, ("use1-az1",))


def test_loading_twice_returns_the_cached_catalog(tmp_path: Path, write_catalog: WriteCatalog) -> None:
    directory = write_catalog(tmp_path / "cache")
    assert load_catalog(directory) is load_catalog(str(directory))


def test_unsupported_schema_version_is_rejected(
    tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]
) -> None:
    offs["schema_version"] = 2
    expected = r"offerings\.json: schema_version 2 is not supported.*reads schema_version 1"
    with pytest.raises(CatalogError, match=expected):
        load_catalog(write_catalog(tmp_path / "v2", offs=offs))


def test_missing_field_names_row_and_field(tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]) -> None:
    del offs["prices"][1]["source"]
    with pytest.raises(CatalogError) as err:
        load_catalog(write_catalog(tmp_path / "missing", offs=offs))
    msg = str(err.value)
    assert "prices[1] (aws eu-west-2 g6.xlarge)" in msg
    assert "field 'source'" in msg and "required" in msg.lower()


def test_negative_price_names_row_and_field(tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]) -> None:
    offs["prices"][3]["spot"] = -0.1
    with pytest.raises(CatalogError) as err:
        load_catalog(write_catalog(tmp_path / "negative", offs=offs))
    msg = str(err.value)
    assert "prices[3] (gcp us-central1 g2-standard-4)" in msg
    assert "field 'spot'" in msg and "greater than or equal to 0" in msg


def test_unknown_accelerator_in_instance_types(
    tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]
) -> None:
    offs["instance_types"][0]["accelerator"] = "L40"
    with pytest.raises(CatalogError, match=r"instance_types\[0\] \(aws g6\.xlarge\): field 'accelerator': 'L40'"):
        load_catalog(write_catalog(tmp_path / "acc", offs=offs))


def test_price_row_for_unlisted_type(tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]) -> None:
    offs["prices"][0]["instance_type"] = "g6.2xlarge"
    with pytest.raises(CatalogError, match=r"prices\[0\] \(aws us-east-1 g6\.2xlarge\): field 'instance_type'"):
        load_catalog(write_catalog(tmp_path / "unlisted", offs=offs))


def test_duplicate_price_row(tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]) -> None:
    offs["prices"].append(dict(offs["prices"][0]))
    with pytest.raises(CatalogError, match=r"prices\[4\] .*duplicate row"):
        load_catalog(write_catalog(tmp_path / "dup", offs=offs))


def test_row_without_any_price(tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]) -> None:
    offs["prices"][2]["on_demand"] = None
    with pytest.raises(CatalogError, match=r"prices\[2\] \(aws us-east-1 p5\.48xlarge\): .*at least one price"):
        load_catalog(write_catalog(tmp_path / "noprice", offs=offs))


def test_alias_shared_by_two_accelerators(tmp_path: Path, write_catalog: WriteCatalog, accs: dict[str, Any]) -> None:
    accs["accelerators"][1]["aliases"].append("NVIDIA-L4")
    expected = r"accelerators\[1\] \(H100\): field 'aliases': 'NVIDIA-L4' already names L4"
    with pytest.raises(CatalogError, match=expected):
        load_catalog(write_catalog(tmp_path / "alias", accs=accs))


def test_unknown_key_is_rejected(tmp_path: Path, write_catalog: WriteCatalog, accs: dict[str, Any]) -> None:
    accs["accelerators"][0]["tdp_w"] = 72
    with pytest.raises(CatalogError, match=r"accelerators\[0\] \(L4\): field 'tdp_w'"):
        load_catalog(write_catalog(tmp_path / "extra", accs=accs))


def test_missing_file_and_bad_json(tmp_path: Path, write_catalog: WriteCatalog) -> None:
    with pytest.raises(CatalogError, match="cannot read catalog file"):
        load_catalog(tmp_path / "nowhere")
    directory = write_catalog(tmp_path / "badjson")
    (directory / "offerings.json").write_text("{not json")
    with pytest.raises(CatalogError, match=r"offerings\.json: not valid JSON \(line 1"):
        load_catalog(directory)
