"""How `plan` reports the catalog it used and how much its choice rests on estimated commitment prices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servestack.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(autouse=True)
def no_cached_catalog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def plan_json(spec: str, capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    main(["plan", str(EXAMPLES / spec), "--json"])
    doc: dict = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    return doc


def test_candidates_say_whether_their_commitment_prices_are_estimates(capsys: pytest.CaptureFixture[str]) -> None:
    doc = plan_json("llama-405b.yaml", capsys)
    assert doc["catalog"]["source"] == "bundled" and doc["catalog"]["path"].endswith("data")
    for c in doc["candidates"]:
        assert isinstance(c["price_1y_estimated"], bool) and isinstance(c["price_3y_estimated"], bool)
    # AWS commitments are on the fallback ratio; GCP A3 High has a published rate.
    by_cloud = {c["cloud"]: c for c in doc["candidates"]}
    if "aws" in by_cloud:
        assert by_cloud["aws"]["price_3y_estimated"] is True
    if "gcp" in by_cloud and by_cloud["gcp"]["instance_type"].startswith("a3-highgpu"):
        assert by_cloud["gcp"]["price_3y_estimated"] is False


def test_a_choice_resting_on_an_estimate_shows_the_cheapest_stack_without_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = plan_json("llama-405b.yaml", capsys)
    chosen = doc["chosen"]
    assert chosen["pricing_base"] == "3y" and chosen["price_3y_estimated"] is True
    dep = doc["estimated_commitment"]
    alt = dep["without_estimates"]
    assert dep["pricing"] == ["3y"]
    # The alternative uses no estimated commitment price, and the difference is what it costs more.
    assert not (alt["pricing_base"] in ("1y", "3y") and alt[f"price_{alt['pricing_base']}_estimated"])
    assert dep["difference_usd_month"] == pytest.approx(
        alt["monthly_usd_expected"] - chosen["monthly_usd_expected"], abs=0.02
    )
    assert main(["plan", str(EXAMPLES / "llama-405b.yaml")]) == 0
    text = capsys.readouterr().out
    assert "price is an estimate" in text and alt["instance_type"] in text and "more" in text
    assert "catalog: bundled" in text


def test_a_choice_without_commitment_has_no_estimate_note(capsys: pytest.CaptureFixture[str]) -> None:
    doc = plan_json("dev-7b-spot.yaml", capsys)
    assert doc["chosen"]["pricing_base"] == "spot"
    assert "estimated_commitment" not in doc
