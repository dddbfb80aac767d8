"""`servestack catalog`: JSON contract, filters, table output and exit codes."""

from __future__ import annotations

import json

import pytest

from servestack.catalog import load_catalog
from servestack.cli import main

KEYS = {"cloud", "region", "zones", "instance_type", "accelerator", "accelerators_per_node", "accelerator_memory_gib",
        "vcpus", "memory_gib", "price_on_demand", "price_spot", "price_1y", "price_3y", "source", "as_of"}


def test_json_contract_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--cloud", "gcp", "--accelerator", "nvidia-h100-80gb", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == load_catalog().as_of
    assert doc["offerings"], "expected GCP H100 offerings"
    for row in doc["offerings"]:
        assert set(row) == KEYS
        assert row["cloud"] == "gcp" and row["accelerator"] == "H100"
    expected = {(o.region, o.instance_type) for o in load_catalog().filter(cloud="gcp", accelerator="H100")}
    assert {(r["region"], r["instance_type"]) for r in doc["offerings"]} == expected


def test_region_filter_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--region", "us-east-1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["offerings"]
    assert rows and {r["region"] for r in rows} == {"us-east-1"}


def test_table_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", "--cloud", "aws", "--accelerator", "L40S", "--region", "us-west-2"]) == 0
    out = capsys.readouterr().out
    assert "g6e.xlarge" in out and "offerings" in out
    assert "g5." not in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--cloud", "azure"], "--cloud: 'azure'"),
        (["--accelerator", "h10"], "did you mean 'H100'"),
        (["--cloud", "aws", "--region", "us-central1"], "--region: 'us-central1'"),
        (["--region", "us-est-1"], "did you mean 'us-east-1'"),
    ],
)
def test_bad_input_exits_2_with_hint(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", *argv]) == 2
    captured = capsys.readouterr()
    assert needle in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
