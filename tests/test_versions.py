"""The add-on compatibility table: complete rows, and every pin inside its upstream support statement."""

import dataclasses
from datetime import date

import pytest

from servestack import contract
from servestack.versions import (
    ADDON_VERSIONS,
    DEFAULT_KUBERNETES_VERSION,
    SUPPORT_STATEMENTS,
    SUPPORTED_KUBERNETES_VERSIONS,
    AddonVersions,
    ChartPin,
    addon_fields,
    addon_versions,
    compatibility_problems,
    minor_of,
)


def test_table_covers_the_supported_cluster_versions() -> None:
    assert SUPPORTED_KUBERNETES_VERSIONS == ("1.30", "1.31", "1.32", "1.33", "1.34")
    assert DEFAULT_KUBERNETES_VERSION in ADDON_VERSIONS


def test_the_contract_default_version_is_the_table_default() -> None:
    # New stacks get the contract's default; the components fall back to the table's when none is given.
    assert contract.DEFAULT_KUBERNETES_VERSION == DEFAULT_KUBERNETES_VERSION


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
def test_every_row_is_complete(version: str) -> None:
    row = ADDON_VERSIONS[version]
    assert row.kubernetes == version
    assert set(addon_fields()) == {
        "keda",
        "leader_worker_set",
        "cluster_autoscaler",
        "nvidia_device_plugin",
        "efa_device_plugin",
        "prometheus",
        "dcgm_exporter",
        "envoy_gateway",
    }
    for addon in addon_fields():
        pin = getattr(row, addon)
        assert isinstance(pin, ChartPin), addon
        assert pin.chart and pin.version and pin.app_version, f"{version} {addon}: {pin}"
        assert pin.version != "latest" and any(ch.isdigit() for ch in pin.version), f"{version} {addon}"
        assert pin.repository is None or pin.repository.startswith("https://"), f"{version} {addon}"
        assert pin.repository is not None or "/" in pin.chart, f"{version} {addon}: oci:// chart or image"


@pytest.mark.parametrize("version", SUPPORTED_KUBERNETES_VERSIONS)
def test_every_addon_supports_its_cluster_version(version: str) -> None:
    assert compatibility_problems(ADDON_VERSIONS[version]) == []


def test_every_statement_names_its_source_and_date() -> None:
    assert set(SUPPORT_STATEMENTS) == set(addon_fields())
    for name, statement in SUPPORT_STATEMENTS.items():
        assert statement.source.startswith("https://"), name
        assert date.fromisoformat(statement.as_of) <= date(2026, 12, 31), name
        assert statement.ranges, name


def _with(row: AddonVersions, **pins: ChartPin) -> AddonVersions:
    return dataclasses.replace(row, **pins)


def test_keda_2_17_against_a_1_34_cluster_is_caught() -> None:
    # KEDA 2.17 is tested on 1.30-1.32 (keda.sh compatibility matrix); it was once pinned against 1.34 clusters.
    keda_217 = ChartPin("keda", "2.17.0", "https://kedacore.github.io/charts", "2.17.0")
    problems = compatibility_problems(_with(ADDON_VERSIONS["1.34"], keda=keda_217))
    assert problems and "keda 2.17.0 supports Kubernetes 1.30-1.32, not 1.34" in problems[0]


def test_a_cluster_autoscaler_of_another_minor_is_caught() -> None:
    row = ADDON_VERSIONS["1.34"]
    older = ADDON_VERSIONS["1.33"].cluster_autoscaler
    problems = compatibility_problems(_with(row, cluster_autoscaler=older))
    assert any("must match the cluster's minor version 1.34" in p for p in problems), problems


def test_a_keda_release_without_a_statement_is_caught() -> None:
    unknown = ChartPin("keda", "2.9.0", "https://kedacore.github.io/charts", "2.9.0")
    problems = compatibility_problems(_with(ADDON_VERSIONS["1.30"], keda=unknown))
    assert problems and "does not cover it" in problems[0]


@pytest.mark.parametrize("given", ["1.33", "1.33.4", "v1.33.4-eks-3025e55", " 1.33 "])
def test_lookup_accepts_patch_and_vendor_suffixes(given: str) -> None:
    assert addon_versions(given) is ADDON_VERSIONS["1.33"]


@pytest.mark.parametrize("given", ["1.29", "1.35", "two", ""])
def test_lookup_names_the_version_and_the_supported_ones(given: str) -> None:
    with pytest.raises(ValueError) as info:
        addon_versions(given)
    message = str(info.value)
    assert f"kubernetes_version={given!r} is not supported" in message
    assert "allowed: 1.30, 1.31, 1.32, 1.33, 1.34" in message


def test_cluster_autoscaler_image_minor_matches_each_row() -> None:
    for version, row in ADDON_VERSIONS.items():
        assert minor_of(row.cluster_autoscaler.app_version) == minor_of(version), version
