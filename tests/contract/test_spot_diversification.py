"""Spot capacity diversification: an AWS spot pool lists the catalog's equivalent instance types and is priced,
by the plan and by the cost engine alike, at the dearest of them."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from servestack.catalog import load_catalog
from servestack.catalog.pricing import group_hourly_usd, pool_hourly_usd
from servestack.catalog.types import Offering
from servestack.check import run_check
from servestack.cli import main
from servestack.contract import Deployment
from servestack.contract.derive import spot_alternates
from servestack.preview import run_preview
from servestack.selector import plan
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[2]
PACKS = [ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"]

# One L40S per node in us-east-1: the catalog carries g6e.xlarge (4 vCPUs) and g6e.4xlarge (16 vCPUs).
SPOT_L40S = {
    "name": "spot-l40s",
    "model": {"id": "mistral-7b", "precision": "bf16", "max_context_tokens": 4096},
    "traffic": {"peak_requests_per_s": 2, "avg_requests_per_s": 1, "avg_input_tokens": 500, "avg_output_tokens": 200},
    "slo": {"ttft_ms_p95": 3000, "tpot_ms_p95": 150},
    "availability": {"min_replicas": 2, "zones": 2},
    "placement": {"clouds": ["aws"], "regions": ["us-east-1"], "accelerators_allowed": ["L40S"]},
    "pricing": {"spot": "only"},
    "budget": {"monthly_usd": 20000},
    "owner": {"team": "ml-platform", "cost_center": "cc-1"},
}


def _offering(instance_type: str, region: str = "us-east-1", cloud: str = "aws") -> Offering:
    found = load_catalog().find_offering(cloud, region, instance_type)
    assert found is not None, instance_type
    return found


def _alternates(o: Offering, zones: int = 2, per_node: int = 1, span: int = 1) -> list[str]:
    found = spot_alternates(o, load_catalog().offerings, zones=zones, replicas_per_node=per_node,
                            nodes_per_replica=span)
    return [a.instance_type for a in found]


def test_a_spot_pool_finds_the_larger_size_with_the_same_gpu() -> None:
    primary = _offering("g6e.xlarge")
    alternates = _alternates(primary)
    assert "g6e.4xlarge" in alternates
    for name in alternates:
        o = _offering(name)
        assert (o.accelerator, o.accelerators_per_node) == (primary.accelerator, primary.accelerators_per_node)


def test_no_alternate_too_small_for_the_pods_or_with_another_gpu() -> None:
    # g6e.xlarge's 4 vCPUs cannot hold the pods sized on g6e.4xlarge's 16.
    assert _alternates(_offering("g6e.4xlarge")) == []
    # g5 (A10G) and g6 (L4) one-GPU sizes sit side by side in us-east-1; they never stand in for each other.
    assert all(name.startswith("g5.") for name in _alternates(_offering("g5.xlarge")))
    assert _alternates(_offering("g2-standard-4", "us-central1", "gcp")) == []


def test_an_alternate_must_be_offered_in_every_chosen_zone() -> None:
    primary = _offering("g6e.xlarge")
    bigger = _offering("g6e.4xlarge")
    elsewhere = dataclasses.replace(bigger, zones=tuple(z for z in bigger.zones if z != sorted(primary.zones)[0]))
    assert spot_alternates(primary, [primary, bigger], zones=2, replicas_per_node=1, nodes_per_replica=1)
    assert spot_alternates(primary, [primary, elsewhere], zones=2, replicas_per_node=1, nodes_per_replica=1) == ()


def test_spot_is_priced_at_the_dearest_type_and_other_modes_at_the_first() -> None:
    assert group_hourly_usd([1.0, 3.0, 2.0], "spot") == 3.0
    assert group_hourly_usd([1.0, 3.0], "on_demand") == 1.0
    primary, bigger = _offering("g6e.xlarge"), _offering("g6e.4xlarge")
    assert bigger.price_spot is not None and primary.price_spot is not None and bigger.price_spot > primary.price_spot
    assert pool_hourly_usd(primary, "spot", [bigger]) == bigger.price_spot
    assert pool_hourly_usd(primary, "on_demand", [bigger]) == primary.price_on_demand


def _spec_file(tmp: Path) -> Path:
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(SPOT_L40S))
    return path


def test_the_plan_lists_the_equivalents_and_prices_the_dearest(tmp_path: Path) -> None:
    catalog = load_catalog()
    spec = load_spec(_spec_file(tmp_path))
    chosen = plan(spec, catalog).chosen
    assert chosen is not None
    d = chosen.deployment(spec, catalog)
    assert d.spot_instance_types is not None and len(d.spot_instance_types) >= 2
    assert d.spot_instance_types[0] == d.instance_type
    spot = [_offering(t).price_spot for t in d.spot_instance_types]
    assert d.hourly_usd_per_node == pytest.approx(max(p for p in spot if p is not None))
    assert d.hourly_usd_per_node > (_offering(d.instance_type).price_spot or 0)


def test_written_stack_previews_the_list_and_costs_the_dearest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    spec_file = _spec_file(tmp_path)
    assert main(["plan", str(spec_file), "--env", "prod", "--write", "-C", str(tmp_path), "--json",
                 "--api-cidr", "198.51.100.0/24", "--hf-token-secret", "ml/hf-token"]) == 0
    chosen = json.loads(capsys.readouterr().out)["chosen"]
    types = chosen["spot_instance_types"]
    assert len(types) >= 2

    graph = run_preview(tmp_path, "prod")
    groups = [r for r in graph.by_type("aws:eks/nodeGroup:NodeGroup") if r.inputs["capacityType"] == "SPOT"]
    assert groups and all(g.inputs["instanceTypes"] == types for g in groups)
    templates = graph.by_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert templates and all("instanceType" not in t.inputs for t in templates)

    result = run_check(tmp_path, "prod", packs=PACKS)
    assert result.passed, [v.to_json() for v in result.mandatory]  # the guardrails accept the listed types
    assert result.costs.expected == pytest.approx(chosen["monthly_usd_expected"], abs=0.01)
    assert result.costs.ceiling == pytest.approx(chosen["monthly_usd_ceiling"], abs=0.01)


def test_a_pricier_type_added_by_hand_shows_in_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert main(["plan", str(_spec_file(tmp_path)), "--env", "prod", "--write", "-C", str(tmp_path), "--json",
                 "--api-cidr", "198.51.100.0/24", "--hf-token-secret", "ml/hf-token"]) == 0
    chosen = json.loads(capsys.readouterr().out)["chosen"]
    stack_file = tmp_path / "stacks" / "Pulumi.prod.yaml"
    doc: dict[str, Any] = yaml.safe_load(stack_file.read_text())
    deployment = doc["config"]["servestack:deployment"]
    # A hand edit appends a pricier type (the region's dearest spot type; the catalog has no third L40S size).
    dearer = max((o for o in load_catalog().offerings if o.cloud == "aws" and o.region == "us-east-1"
                  and o.instance_type not in deployment["spotInstanceTypes"] and o.price_spot is not None),
                 key=lambda o: o.price_spot or 0.0)
    deployment["spotInstanceTypes"] = [*deployment["spotInstanceTypes"], dearer.instance_type]
    stack_file.write_text(yaml.safe_dump(doc))
    result = run_check(tmp_path, "prod", packs=PACKS)
    assert result.costs.ceiling > chosen["monthly_usd_ceiling"] + 1


def _deployment(**changes: Any) -> dict[str, Any]:
    catalog = load_catalog()
    spec = load_spec(Path(__file__).resolve().parents[2] / "examples" / "dev-7b-spot.yaml")
    chosen = plan(spec, catalog).chosen
    assert chosen is not None
    return {**chosen.deployment(spec, catalog).to_stack_config(), **changes}


@pytest.mark.parametrize(("changes", "message"), [
    ({"spotInstanceTypes": ["g2-standard-4", "g2-standard-8"]}, "a GKE node pool has one machine type"),
    ({"cloud": "aws", "region": "us-east-1", "zoneNames": ["use1-az1"], "instanceType": "g6e.xlarge",
      "spotInstanceTypes": ["g6e.4xlarge", "g6e.xlarge"]}, "instanceType (g6e.xlarge) first"),
])
def test_contract_rejects_a_list_it_cannot_deploy(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match="spotInstanceTypes") as info:
        Deployment.model_validate(_deployment(**changes))
    assert message in str(info.value)
