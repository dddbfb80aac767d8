"""The compiled catalog copy: same records as validating the files, and never trusted over an edited file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servestack.catalog import compiled, load
from servestack.catalog.load import DATA_DIR, load_catalog
from servestack.catalog.models import SCHEMA_VERSION as MODELS_SCHEMA_VERSION
from servestack.errors import CatalogError
from tests.catalog.conftest import WriteCatalog


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load._load_cached.cache_clear()
    yield
    load._load_cached.cache_clear()


def _fresh_load(directory: Path) -> Any:
    load._load_cached.cache_clear()  # as a new process would
    return load_catalog(directory)


def _no_validation(*_: Any, **__: Any) -> Any:
    raise AssertionError("the data files were validated again")


def _records(catalog: Any) -> tuple[Any, ...]:
    return catalog.as_of, catalog.accelerators, catalog.offerings, catalog.instance_types()


def test_bundled_catalog_reads_back_identical_without_validating(monkeypatch: pytest.MonkeyPatch) -> None:
    validated = _fresh_load(DATA_DIR)
    assert list(compiled.compiled_dir().glob("*.marshal"))
    monkeypatch.setattr(load, "parse_catalog", _no_validation)
    again = _fresh_load(DATA_DIR)
    assert again is not validated
    assert _records(again) == _records(validated)
    assert again.regions() == validated.regions()
    assert again.find_offering("aws", "us-east-1", "g6e.xlarge") == validated.find_offering(
        "aws", "us-east-1", "g6e.xlarge")


def test_an_edited_file_is_validated_again(tmp_path: Path, write_catalog: WriteCatalog, offs: dict[str, Any]) -> None:
    directory = write_catalog(tmp_path / "cat")
    assert _fresh_load(directory).find_offering("aws", "us-east-1", "g6.xlarge").price_on_demand == 0.8
    offs["prices"][0]["on_demand"] = 0.9
    (directory / "offerings.json").write_text(json.dumps(offs))
    assert _fresh_load(directory).find_offering("aws", "us-east-1", "g6.xlarge").price_on_demand == 0.9
    offs["prices"][0]["on_demand"] = -1
    (directory / "offerings.json").write_text(json.dumps(offs))
    with pytest.raises(CatalogError, match=r"prices\[0\].*on_demand"):
        _fresh_load(directory)


def test_a_corrupt_compiled_copy_is_ignored_and_replaced(
    tmp_path: Path, write_catalog: WriteCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_catalog(tmp_path / "cat")
    first = _fresh_load(directory)
    (copy,) = compiled.compiled_dir().glob("*.marshal")
    copy.write_bytes(b"\x00not marshal")
    assert _records(_fresh_load(directory)) == _records(first)
    monkeypatch.setattr(load, "parse_catalog", _no_validation)
    assert _records(_fresh_load(directory)) == _records(first)  # rewritten by the load above


def test_an_unwritable_cache_only_costs_the_speed(
    tmp_path: Path, write_catalog: WriteCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    directory = write_catalog(tmp_path / "cat")
    assert len(_fresh_load(directory).offerings) == 4


def test_key_changes_with_either_file() -> None:
    assert compiled.compiled_key(b"a", b"bc") != compiled.compiled_key(b"ab", b"c")
    assert compiled.compiled_key(b"a", b"b") == compiled.compiled_key(b"a", b"b")


def test_schema_version_checked_before_the_models_load_matches_them() -> None:
    assert load.SCHEMA_VERSION == MODELS_SCHEMA_VERSION
