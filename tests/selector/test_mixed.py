"""Mixed fleets: the integer program, the pools of a plan, and the example where a mixed fleet wins."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from servestack.catalog import load_catalog
from servestack.cli import main
from servestack.components.config import DeploymentConfig
from servestack.contract.fleet import Fleet
from servestack.selector import plan
from servestack.selector.mixed import _Column, _solve, pool_name
from servestack.selector.plan import Layout
from servestack.workload import WorkloadSpec, load_spec
from servestack.yamlio import load_yaml_file
from tests.selector.synthetic import offering

ROOT = Path(__file__).resolve().parents[2]
MIXED_EXAMPLE = ROOT / "examples" / "mixed-fleet-7b.yaml"
CATALOG = load_catalog()


# --- the integer program on hand-made columns ------------------------------------------------------------

def two_class_spec(peak: float = 10.0, budget: float | None = None) -> WorkloadSpec:
    return WorkloadSpec.model_validate({
        "name": "svc", "model": {"id": "llama-3.1-8b"},
        "traffic": {"peak_requests_per_s": peak, "avg_requests_per_s": peak, "request_mix": [
            {"name": "short", "share": 0.9, "input_tokens": 100, "output_tokens": 50},
            {"name": "long", "share": 0.1, "input_tokens": 4000, "output_tokens": 400}]},
        "budget": {"monthly_usd": budget},
    })


def column(name: str, price: float, rates: dict[int, float], region: str = "us-east-1") -> _Column:
    return _Column(offering(name, region=region, on_demand=price), Layout(1, 1, 1), rates, 1, 1,
                   "on_demand", "on_demand", price, price, 0.0, 100.0)


def assignment(spec: WorkloadSpec, columns: list[_Column]) -> dict[str, list[int]]:
    solution = _solve(spec, columns)
    assert solution is not None
    return {col.offering.instance_type: served for col, served in solution}


def test_each_class_goes_to_the_pool_that_serves_it_cheapest() -> None:
    # 9 short requests/s: `small` needs 3 replicas at $1 = $3/h, `big` 1 replica at $4/h. Only `big` serves
    # long requests (1/s on 1 replica). Cheapest: short on small, long on big ($7/h) over both on big
    # (2 replicas = $8/h).
    small = column("small", 1.0, {0: 3.0})
    big = column("big", 4.0, {0: 10.0, 1: 1.0})
    assert assignment(two_class_spec(), [small, big]) == {"small": [0], "big": [1]}


def test_no_mixed_fleet_when_a_second_floor_costs_more_than_it_saves() -> None:
    # `big` holds both classes on one replica ($4/h, the homogeneous plan); two pools cost $5/h at least.
    small = column("small", 1.0, {0: 30.0})
    big = column("big", 4.0, {0: 100.0, 1: 10.0})
    assert _solve(two_class_spec(), [small, big], incumbent=4.0 * 730 + 100.0) is None
    assert assignment(two_class_spec(), [small, big]) == {"small": [0], "big": [1]}


def test_every_pool_of_a_plan_is_in_one_region() -> None:
    # The cheapest short-request pool is in another region: pools share a cluster, so the dearer one in the
    # long pool's region serves the short requests.
    small_elsewhere = column("small", 1.0, {0: 3.0}, region="us-west-2")
    medium = column("medium", 1.5, {0: 3.0})
    big = column("big", 4.0, {0: 10.0, 1: 1.0})
    assert assignment(two_class_spec(), [small_elsewhere, medium, big]) == {"medium": [0], "big": [1]}


def test_a_dominated_column_is_never_needed() -> None:
    # `small-2x` is `small` with more CPUs at a higher price: the same answer without it.
    small = column("small", 1.0, {0: 3.0})
    bigger_node = column("small-2x", 1.2, {0: 3.0})
    big = column("big", 4.0, {0: 10.0, 1: 1.0})
    assert assignment(two_class_spec(), [bigger_node, small, big]) == {"small": [0], "big": [1]}


def test_the_budget_bounds_the_ceiling() -> None:
    small = column("small", 1.0, {0: 3.0})
    big = column("big", 4.0, {0: 10.0, 1: 1.0})
    assert _solve(two_class_spec(budget=100.0), [small, big]) is None


def test_pool_names_are_unique_labels() -> None:
    taken = {"svc-l4"}
    assert pool_name("svc", "L4", taken) == "svc-l4-2"
    assert pool_name("svc", "A100-80GB", set()) == "svc-a100-80gb"


# --- plans ---------------------------------------------------------------------------------------------

def test_the_mixed_example_beats_the_best_homogeneous_stack_and_says_by_how_much() -> None:
    spec = load_spec(MIXED_EXAMPLE)
    result = plan(spec, CATALOG)
    assert result.mixed is not None and result.chosen is not None
    assert result.mixed.monthly_usd_expected < result.chosen.monthly_usd_expected
    doc = result.to_json()
    chosen = doc["chosen"]
    assert chosen == doc["candidates"][0]
    assert chosen["mixed"]["saving_usd_per_month"] == pytest.approx(
        result.chosen.monthly_usd_expected - result.mixed.monthly_usd_expected, abs=0.01)
    assert chosen["mixed"]["saving_usd_per_month"] > 0
    assert "saves $" in chosen["mixed"]["explanation"]
    pools = chosen["pools"]
    assert len(pools) >= 2
    assert sorted(c for p in pools for c in p["classes"]) == ["long", "short"]
    assert len({(p["cloud"], p["region"], p["zones"]) for p in pools}) == 1
    assert len({p["accelerator"] for p in pools}) >= 2
    for pool in pools:
        assert set(pool["class_estimates"]) == set(pool["classes"])
        for est in pool["class_estimates"].values():
            assert est["ttft_ms"] <= spec.slo.ttft_ms_p95 and est["tpot_ms"] <= spec.slo.tpot_ms_p95  # type: ignore[operator]


def test_the_mixed_fleet_pays_for_one_cluster_not_one_per_pool() -> None:
    spec = load_spec(MIXED_EXAMPLE)
    result = plan(spec, CATALOG)
    assert result.mixed is not None
    m = result.mixed
    alone = [plan(spec.for_classes(list(pool.classes)), CATALOG).chosen for pool in m.pools]
    assert all(a is not None for a in alone)
    # Each pool planned alone carries a whole cluster's platform; in the fleet, the platform is paid once.
    assert m.monthly_usd_expected < sum(a.monthly_usd_expected for a in alone if a is not None)
    for pool, own in zip(m.pools, alone, strict=True):
        assert own is not None and pool.gpu_monthly_usd_expected < own.monthly_usd_expected
    assert m.monthly_usd_expected == pytest.approx(
        sum(p.gpu_monthly_usd_expected for p in m.pools) + m.platform_monthly_usd_expected
        - sum(p.gpu_monthly_usd_expected - p.candidate.nodes_avg * p.candidate.hourly_usd_per_node * 730
              for p in m.pools))


def test_a_homogeneous_plan_has_one_pool_serving_every_class() -> None:
    result = plan(load_spec(ROOT / "examples" / "summarize-8b.yaml"), CATALOG)
    chosen = result.to_json()["chosen"]
    assert [p["classes"] for p in chosen["pools"]] == [["all"]]
    pool = chosen["pools"][0]
    assert {k: pool[k] for k in ("instance_type", "replicas_peak", "monthly_usd_expected")} == {
        k: chosen[k] for k in ("instance_type", "replicas_peak", "monthly_usd_expected")}


def test_a_mix_without_a_cheaper_mixed_fleet_plans_one_pool_for_every_class() -> None:
    spec = load_spec(MIXED_EXAMPLE).for_classes(["long"])
    result = plan(spec, CATALOG)
    assert result.mixed is None
    assert result.to_json()["chosen"]["pools"][0]["classes"] == ["long"]


def test_the_fleet_contract_has_one_server_per_pool_with_its_classes() -> None:
    spec = load_spec(MIXED_EXAMPLE)
    result = plan(spec, CATALOG)
    assert result.mixed is not None
    fleet = result.mixed.fleet(spec, CATALOG)
    assert Fleet.model_validate(fleet.to_stack_config(), context={"workloads": [spec.name]}) == fleet
    assert [s.pool for s in fleet.servers] == [p.name for p in result.mixed.pools]
    for server, pool in zip(fleet.servers, result.mixed.pools, strict=True):
        assert [c.name for c in server.request_classes or []] == list(pool.classes)
        assert server.deployment.instance_type == pool.candidate.instance_type
        assert server.deployment.replicas_peak == pool.candidate.replicas_peak


def test_plan_write_of_a_mixed_plan_writes_the_fleet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    code = main(["plan", str(MIXED_EXAMPLE), "--env", "prod", "--write", "-C", str(tmp_path),
                 "--api-private", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    config = load_yaml_file(tmp_path / "stacks" / "Pulumi.prod.yaml", "stack file")["config"]
    assert "servestack:deployment" not in config and "servestack:workload" not in config
    values = {k.removeprefix("servestack:"): v for k, v in config.items() if k != "servestack:generated"}
    read = DeploymentConfig.from_mapping(values)
    assert [s.pool for s in read.fleet.servers] == [p["name"] for p in doc["chosen"]["pools"]]
    assert doc["fleet"] == read.fleet.to_stack_config()


def test_human_plan_output_lists_the_pools(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(MIXED_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "mixed fleet" in out and out.count("  pool ") >= 2 and "saves $" in out


def _triage(budget: float | None) -> WorkloadSpec:
    """Short chats and one in five long documents, where per-class pools need a lower ceiling than any one type."""
    return WorkloadSpec.model_validate({
        "name": "triage", "model": {"id": "qwen2.5-7b", "max_context_tokens": 8192},
        "traffic": {"peak_requests_per_s": 10, "avg_requests_per_s": 5, "request_mix": [
            {"name": "short", "share": 0.8, "input_tokens": 89, "output_tokens": 179},
            {"name": "long", "share": 0.2, "input_tokens": 3885, "output_tokens": 412}]},
        "slo": {"ttft_ms_p95": 2000, "tpot_ms_p95": 50},
        "placement": {"clouds": ["aws"]},
        "budget": {"monthly_usd": budget},
    })


def test_a_mixed_fleet_is_the_plan_when_no_single_type_fits_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unbudgeted = plan(_triage(None), CATALOG)
    assert unbudgeted.mixed is not None
    cheapest_single = plan(_triage(1.0), CATALOG).closest[0].monthly_usd_ceiling
    fleet_ceiling = unbudgeted.mixed.monthly_usd_ceiling
    assert fleet_ceiling < cheapest_single, "the premise: the fleet's ceiling is below every single type's"
    budget = (fleet_ceiling + cheapest_single) / 2
    result = plan(_triage(budget), CATALOG)
    # Before, every single-type stack was over budget and the plan stopped there ("raise the budget").
    assert result.feasible and result.candidates == () and result.mixed is not None
    assert result.mixed.homogeneous_over_budget and result.mixed.monthly_usd_ceiling <= budget
    assert result.mixed.homogeneous.monthly_usd_ceiling > budget
    assert "fits the budget where no single-accelerator stack does" in result.mixed.explanation()
    doc = result.to_json()
    assert doc["feasible"] and doc["chosen"]["mixed"]["homogeneous_over_budget"] is True
    assert result.chosen is not None and result.chosen.instance_type == doc["chosen"]["instance_type"]
    # Written and read back as the fleet the program deploys.
    spec_path = tmp_path / "triage.yaml"
    spec_path.write_text(json.dumps(_triage(budget).model_dump(mode="json", exclude_none=True)))
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    assert main(["plan", str(spec_path), "--env", "prod", "--write", "-C", str(tmp_path),
                 "--api-cidr", "203.0.113.0/24"]) == 0
    capsys.readouterr()
    config = load_yaml_file(tmp_path / "stacks" / "Pulumi.prod.yaml", "stack file")["config"]
    servers = config["servestack:fleet"]["servers"]
    assert len(servers) == len(result.mixed.pools) >= 2


def test_a_workload_only_its_mixed_fleet_serves_within_budget_still_joins_one_cluster() -> None:
    from servestack.selector.joint import joint_plan

    unbudgeted = plan(_triage(None), CATALOG)
    assert unbudgeted.mixed is not None
    cheapest_single = plan(_triage(1.0), CATALOG).closest[0].monthly_usd_ceiling
    triage = _triage((unbudgeted.mixed.monthly_usd_ceiling + cheapest_single) / 2)
    assert plan(triage, CATALOG).candidates == (), "the premise: no single-accelerator stack fits the budget"
    chat = load_spec(ROOT / "examples" / "dev-7b-spot.yaml")
    joint = joint_plan([triage, chat], CATALOG)
    one = joint.one_cluster
    # Before, a workload with no single-accelerator candidate had no region in common with the others.
    assert one is not None and one.fleet_of(0) is not None and one.fleet_of(1) is None
    assert joint.mode == "one_cluster" and one.monthly_usd_expected < joint.separate_expected
