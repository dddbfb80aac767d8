"""Budget pack rules: ceiling (fails closed), unpriced resources, warning share, accelerator cap, dev spot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.catalog import load_catalog
from servestack.cli import main
from servestack.costing import Resource, cost_resources
from servestack.policies.base import StackSettings
from servestack.policies.common import dev_spot_only
from servestack.policies.stack import accelerator_cap, budget_ceiling, budget_unpriced, budget_warning
from servestack.policies.stack.budget import NO_BUDGET
from tests.costing.graphs import Plan, aws_stack, gcp_stack, res
from tests.policies.helpers import WIRE_UNKNOWN, changed, run, stack, via_policy

PLAN = Plan()


def _ceiling(graph: list) -> float:  # type: ignore[type-arg]
    return cost_resources(graph, region=PLAN.region).ceiling


def _node(graph: list, name: str):  # type: ignore[no-untyped-def, type-arg]
    return next(r for r in graph if r.name == name)


def _replace(graph: list, new):  # type: ignore[no-untyped-def, type-arg]
    return [new if r.urn == new.urn else r for r in graph]


# -- budget-monthly-ceiling -------------------------------------------------------------------------


def test_ceiling_within_stack_budget_passes() -> None:
    graph = aws_stack(PLAN)
    outcome = run(budget_ceiling.RULE, graph, settings=stack(budget=_ceiling(graph) + 1))
    assert outcome.status == "pass"


def test_ceiling_over_stack_budget_is_violation() -> None:
    graph = aws_stack(PLAN)
    ceiling = _ceiling(graph)
    budget = round(ceiling - 100, 2)
    outcome = run(budget_ceiling.RULE, graph, settings=stack(budget=budget))
    assert outcome.violated
    assert outcome.texts[0].startswith(
        f"monthly ceiling {ceiling:,.2f} USD exceeds the budget of {budget:,.2f} USD (servestack:budgetMonthlyUsd) by "
        f"{ceiling - budget:,.2f} USD; largest items: gpu-base compute"
    )


def test_policy_config_budget_overrides_stack_budget() -> None:
    graph = aws_stack(PLAN)
    ceiling = _ceiling(graph)
    outcome = run(budget_ceiling.RULE, graph, {"monthlyBudgetUsd": ceiling / 2}, stack(budget=ceiling * 2))
    assert outcome.violated and "(monthlyBudgetUsd)" in outcome.texts[0]


def test_more_burst_nodes_break_the_budget() -> None:
    graph = aws_stack(PLAN)
    settings = stack(budget=_ceiling(graph) + 1)
    burst = _node(graph, "gpu-burst")
    bigger = _replace(graph, changed(burst, ["scalingConfig", "maxSize"], 10))
    assert run(budget_ceiling.RULE, bigger, settings=settings).violated


def test_no_budget_is_a_violation_not_a_disabled_rule() -> None:
    graph = aws_stack(PLAN)
    outcome = run(budget_ceiling.RULE, graph, settings=stack(budget=None))
    assert outcome.violated and outcome.texts == [NO_BUDGET]
    violations, reason = via_policy(budget_ceiling.RULE, graph)  # CrossGuard, no stack config at all
    assert reason is None and violations == [(NO_BUDGET, None)]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "0", "-5", '"lots"', "true"])
def test_unusable_stack_budget_is_a_violation_naming_the_key(value: str) -> None:
    settings = StackSettings.from_config({"servestack:budgetMonthlyUsd": value, "aws:region": PLAN.region})
    outcome = run(budget_ceiling.RULE, aws_stack(PLAN), settings=settings)
    assert outcome.violated
    assert outcome.texts[0].startswith("stack config: servestack:budgetMonthlyUsd ")
    assert outcome.texts[0].endswith("is not a finite number above 0")
    # The warning rule leaves the finding to the ceiling rule instead of comparing against NaN.
    assert run(budget_warning.RULE, aws_stack(PLAN), settings=settings).status == "not_applicable"


def test_bad_budget_config_is_violation() -> None:
    outcome = run(budget_ceiling.RULE, aws_stack(PLAN), {"monthlyBudgetUsd": -5})
    assert outcome.texts == ["policy config: monthlyBudgetUsd -5 is not a finite number above 0"]
    nan = run(budget_ceiling.RULE, aws_stack(PLAN), {"monthlyBudgetUsd": float("nan")})
    assert nan.violated and "monthlyBudgetUsd nan" in nan.texts[0]


def test_preview_unknown_instance_type_is_left_to_the_unpriced_rule() -> None:
    graph = aws_stack(PLAN)
    base = _node(graph, "gpu-base")
    graph = _replace(graph, changed(base, ["instanceTypes"], WIRE_UNKNOWN))
    assert run(budget_ceiling.RULE, graph, settings=stack(budget=10**7)).status == "pass"
    outcome = run(budget_unpriced.RULE, graph, settings=stack(budget=10**7))
    assert outcome.violated and len(outcome.messages) == 1
    text, urn = outcome.messages[0]
    assert urn == base.urn
    assert text.startswith("cannot price EKS node group gpu-base: instance type unknown during preview; it may run "
                           "accelerators")
    assert "only known after apply" in text


def test_unpriced_instance_type_cannot_pass() -> None:
    graph = aws_stack(PLAN)
    base = _node(graph, "gpu-base")
    graph = _replace(graph, changed(base, ["instanceTypes"], ["x9z.mega"]))
    outcome = run(budget_unpriced.RULE, graph, settings=stack(budget=10**7))
    assert outcome.messages == ((
        "cannot price EKS node group gpu-base: x9z.mega is not an instance type of the bundled catalog (aws); it "
        "runs accelerators, so its cost is missing from the monthly ceiling (use an instance type and region the "
        "bundled catalog prices (see `servestack catalog`), or set budget-unpriced-resources to advisory to accept "
        "it unpriced)", base.urn),)


# -- budget-unpriced-resources ----------------------------------------------------------------------


def test_priced_stack_has_no_unpriced_resources() -> None:
    assert run(budget_unpriced.RULE, aws_stack(PLAN)).status == "pass"
    assert run(budget_unpriced.RULE, gcp_stack(Plan(cloud="gcp", region="us-central1",
                                                    instance_type="g2-standard-8"))).status == "pass"


def _bogus_node_group() -> Resource:
    return res("aws:eks/nodeGroup:NodeGroup", "bogus", {
        "instanceTypes": ["x9.bogus"], "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 2}})


def test_bogus_instance_type_may_run_accelerators_and_is_a_finding() -> None:
    group = _bogus_node_group()
    outcome = run(budget_unpriced.RULE, [group])
    assert outcome.violated and outcome.messages[0][1] == group.urn
    assert "x9.bogus is not an instance type of the bundled catalog (aws); it may run accelerators" \
        in outcome.texts[0]
    violations, _ = via_policy(budget_unpriced.RULE, [group])
    assert [urn for _, urn in violations] == [group.urn]


def test_region_outside_the_catalog_is_a_finding() -> None:
    outcome = run(budget_unpriced.RULE, aws_stack(PLAN), settings=stack(region="af-south-1"))
    assert outcome.violated and all("has no bundled price in af-south-1" in t for t in outcome.texts)
    assert len(outcome.messages) == 2  # gpu-base and gpu-burst; the system group is on the platform table


def test_asg_with_launch_template_outside_the_graph_is_a_finding() -> None:
    asg = res("aws:autoscaling/group:Group", "asg", {"minSize": 1, "maxSize": 2,
                                                    "launchTemplate": {"name": "gpu-nodes", "version": "$Default"}})
    outcome = run(budget_unpriced.RULE, [asg])
    assert outcome.violated
    assert "launch template gpu-nodes is not in the resource graph" in outcome.texts[0]


def test_cpu_only_group_without_price_is_the_ceiling_rules_not_the_unpriced_rules() -> None:
    graph = aws_stack(PLAN)
    system = _node(graph, "system")
    graph = _replace(graph, changed(system, ["instanceTypes"], ["m7i.xlarge"]))
    assert run(budget_unpriced.RULE, graph).status == "pass"
    outcome = run(budget_ceiling.RULE, graph, settings=stack(budget=10**7))
    assert outcome.violated and "system (compute): m7i.xlarge is not an instance type" in outcome.texts[0]


# -- commitments --------------------------------------------------------------------------------------


def test_commitment_counts_as_bought_only_when_the_stack_says_so() -> None:
    plan = Plan(pricing_base="1y", pricing_burst="on_demand", instance_type="g5.12xlarge",
                accelerators_per_node=4)
    graph = aws_stack(plan)
    bought = {"servestack:commitmentPurchased": "true", "aws:region": plan.region}
    committed = cost_resources(graph, stack_config=bought).ceiling
    on_demand = cost_resources(graph, stack_config={"aws:region": plan.region}).ceiling
    assert on_demand > committed
    budget = (committed + on_demand) / 2  # fits only if the commitment is bought
    assert run(budget_ceiling.RULE, graph, settings=StackSettings.from_config(
        {**bought, "servestack:budgetMonthlyUsd": str(budget)})).status == "pass"
    outcome = run(budget_ceiling.RULE, graph, settings=StackSettings.from_config(
        {"aws:region": plan.region, "servestack:budgetMonthlyUsd": str(budget)}))
    assert outcome.violated
    assert "planned with a 1y commitment but priced on-demand: servestack:commitmentPurchased is not true" \
        in outcome.texts[0]


def test_ceiling_rule_reads_stack_config_from_pulumi_config(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = aws_stack(PLAN)
    ceiling = _ceiling(graph)
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"servestack:budgetMonthlyUsd": str(ceiling - 1),
                                                    "aws:region": PLAN.region}))
    violations, reason = via_policy(budget_ceiling.RULE, graph)
    assert reason is None and len(violations) == 1
    assert "(servestack:budgetMonthlyUsd)" in violations[0][0]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"servestack:budgetMonthlyUsd": str(ceiling + 1),
                                                    "aws:region": PLAN.region}))
    assert via_policy(budget_ceiling.RULE, graph) == ([], None)


# -- budget-monthly-warning -------------------------------------------------------------------------


def test_warning_below_share_passes_and_above_warns() -> None:
    graph = aws_stack(PLAN)
    ceiling = _ceiling(graph)
    assert run(budget_warning.RULE, graph, settings=stack(budget=ceiling / 0.79)).status == "pass"
    outcome = run(budget_warning.RULE, graph, settings=stack(budget=ceiling / 0.81))
    assert outcome.texts == [
        f"monthly ceiling {ceiling:,.2f} USD is 81% of the budget of {ceiling / 0.81:,.2f} USD "
        "(servestack:budgetMonthlyUsd), past the warning share of 80%"
    ]


def test_warning_share_is_configurable() -> None:
    graph = aws_stack(PLAN)
    budget = _ceiling(graph) / 0.6
    assert run(budget_warning.RULE, graph, settings=stack(budget=budget)).status == "pass"
    assert run(budget_warning.RULE, graph, {"warnShare": 0.5}, stack(budget=budget)).violated


def test_warning_unknown_is_not_applicable() -> None:
    graph = aws_stack(PLAN)
    graph = _replace(graph, changed(_node(graph, "gpu-burst"), ["scalingConfig", "maxSize"], WIRE_UNKNOWN))
    assert run(budget_warning.RULE, graph, settings=stack(budget=10**7)).status == "not_applicable"


# -- max-accelerators -------------------------------------------------------------------------------


def test_accelerator_cap() -> None:
    plan = Plan(instance_type="g5.12xlarge", accelerators_per_node=4)  # 4 x A10G per node, 5 nodes at peak
    graph = aws_stack(plan)
    assert run(accelerator_cap.RULE, graph, {"maxAccelerators": 20}).status == "pass"
    outcome = run(accelerator_cap.RULE, graph, {"maxAccelerators": 19})
    assert outcome.texts == ["the stack can scale to 20 accelerators (gpu-base 2 x 4 A10G; gpu-burst 3 x 4 A10G), "
                             "above the cap of 19"]


def test_accelerator_cap_default_and_unknown() -> None:
    graph = aws_stack(PLAN)
    assert run(accelerator_cap.RULE, graph).status == "pass"  # 5 accelerators under the default 64
    graph = _replace(graph, changed(_node(graph, "gpu-burst"), ["scalingConfig", "maxSize"], WIRE_UNKNOWN))
    assert run(accelerator_cap.RULE, graph).status == "not_applicable"


# -- dev-spot-only ----------------------------------------------------------------------------------

DEV = Plan(environment="dev", pricing_base="spot", pricing_burst="spot")


def test_dev_spot_group_passes() -> None:
    base = _node(aws_stack(DEV), "gpu-base")
    assert run(dev_spot_only.RULE, base, settings=stack(environment="dev")).status == "pass"


def test_dev_on_demand_group_is_violation() -> None:
    base = changed(_node(aws_stack(DEV), "gpu-base"), ["capacityType"], "ON_DEMAND")
    outcome = run(dev_spot_only.RULE, base, settings=stack(environment="dev"))
    assert outcome.texts == ["development stack (dev): GPU node group gpu-base (g6e.xlarge) must use spot capacity, "
                             "but capacityType is ON_DEMAND"]


def test_dev_gke_pool_without_spot_is_violation() -> None:
    from tests.costing.graphs import gcp_stack

    plan = DEV.with_(cloud="gcp", region="us-central1", instance_type="g2-standard-8")
    pool = changed(_node(gcp_stack(plan), "gpu-base"), ["nodeConfig", "spot"], False)
    outcome = run(dev_spot_only.RULE, pool, settings=stack(environment="dev", cloud="gcp"))
    assert outcome.texts[0].endswith("but nodeConfig.spot is not true")


def test_dev_rule_ignores_prod_and_cpu_and_unknown() -> None:
    on_demand = changed(_node(aws_stack(DEV), "gpu-base"), ["capacityType"], "ON_DEMAND")
    assert run(dev_spot_only.RULE, on_demand, settings=stack(environment="prod")).status == "not_applicable"
    system = _node(aws_stack(DEV), "system")
    assert run(dev_spot_only.RULE, system, settings=stack(environment="dev")).status == "not_applicable"
    unknown = changed(on_demand, ["capacityType"], WIRE_UNKNOWN)
    assert run(dev_spot_only.RULE, unknown, settings=stack(environment="dev")).status == "not_applicable"


def test_dev_rule_falls_back_to_environment_tag() -> None:
    on_demand = changed(_node(aws_stack(DEV), "gpu-base"), ["capacityType"], "ON_DEMAND")
    from servestack.policies.base import StackSettings

    assert run(dev_spot_only.RULE, on_demand, settings=StackSettings()).violated


# -- through `servestack check` on a hand-written program ------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def _asg_project(tmp_path: Path, config: dict[str, object]) -> Path:
    project = tmp_path / "gpu_asg"
    shutil.copytree(FIXTURES / "gpu_asg", project)
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": {"aws:region": "us-east-1", **config}}))
    return project


def _check(project: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "-C", str(project), "-s", "dev", "--json", *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_check_prices_an_asg_of_fifty_p5_with_list_form_tags(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    project = _asg_project(tmp_path, {"servestack:budgetMonthlyUsd": 100_000})
    code, doc, err = _check(project, capsys)
    offering = load_catalog().find_offering("aws", "us-east-1", "p5.48xlarge")
    assert offering is not None and offering.price_on_demand is not None
    from servestack.catalog.platform import platform_prices
    ceiling = 50 * (offering.price_on_demand * 730 + 500 * platform_prices("aws").volume_per_gib_month)
    assert code == 1, err
    assert doc["monthly_usd"]["ceiling"] == pytest.approx(ceiling, abs=0.01)
    over = [v for v in doc["violations"] if v["policy"] == "budget-monthly-ceiling"]
    assert over and over[0]["enforcement"] == "mandatory" and "exceeds the budget" in over[0]["message"]


def test_check_without_a_budget_is_a_mandatory_finding_whose_level_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _asg_project(tmp_path, {"gpu:nodes": 1})
    code, doc, _ = _check(project, capsys)
    (finding,) = [v for v in doc["violations"] if v["policy"] == "budget-monthly-ceiling"]
    assert code == 1 and finding["enforcement"] == "mandatory" and NO_BUDGET in finding["message"]
    assert doc["budget_usd"] is None
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"budget-monthly-ceiling": "advisory"}))
    code, doc, _ = _check(project, capsys, "--policy-config", str(cfg))
    (finding,) = [v for v in doc["violations"] if v["policy"] == "budget-monthly-ceiling"]
    assert code == 0 and finding["enforcement"] == "advisory"


@pytest.mark.parametrize("value", [float("nan"), "NaN", float("inf"), "Infinity", 0, -100, "lots"],
                         ids=["nan", "nan-text", "inf", "inf-text", "zero", "negative", "text"])
def test_check_refuses_an_unusable_stack_budget_with_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: object
) -> None:
    project = _asg_project(tmp_path, {"servestack:budgetMonthlyUsd": value})
    code, doc, err = _check(project, capsys)
    assert code == 2 and doc == {}
    assert "servestack:budgetMonthlyUsd" in err and "finite number" in err and "Traceback" not in err


@pytest.mark.parametrize("text", ['{"budget-monthly-ceiling": {"monthlyBudgetUsd": NaN}}',
                                  '{"budget-monthly-ceiling": {"monthlyBudgetUsd": "Infinity"}}',
                                  '{"budget-monthly-ceiling": {"monthlyBudgetUsd": 0}}'])
def test_check_refuses_an_unusable_policy_config_budget_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    project = _asg_project(tmp_path, {"servestack:budgetMonthlyUsd": 1000})
    cfg = tmp_path / "policy.json"
    cfg.write_text(text)
    code, doc, err = _check(project, capsys, "--policy-config", str(cfg))
    assert code == 2 and doc == {} and "monthlyBudgetUsd" in err and "Traceback" not in err


def test_check_refuses_a_commitment_flag_that_is_not_a_boolean(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    project = _asg_project(tmp_path, {"servestack:budgetMonthlyUsd": 1000, "servestack:commitmentPurchased": "yes"})
    code, _, err = _check(project, capsys)
    assert code == 2 and "servestack:commitmentPurchased" in err


def test_check_reports_a_bogus_instance_type_as_unpriced_not_cheap(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    project = _asg_project(tmp_path, {"servestack:budgetMonthlyUsd": 100_000, "gpu:instanceType": "x9.bogus"})
    code, doc, _ = _check(project, capsys)
    (finding,) = [v for v in doc["violations"] if v["policy"] == "budget-unpriced-resources"]
    assert code == 1 and finding["enforcement"] == "mandatory"
    assert finding["urn"].endswith("aws:autoscaling/group:Group::gpu")
    assert "x9.bogus is not an instance type of the bundled catalog" in finding["message"]
    assert doc["monthly_usd"] == {"expected": None, "ceiling": None}  # not the launch templates' volumes alone


# -- one pricing per check ----------------------------------------------------------------------------


def test_rules_of_one_check_price_the_stack_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from servestack.policies.stack import budget

    calls: list[int] = []
    real = budget.cost_graph

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(budget, "cost_graph", counting)
    monkeypatch.setattr(budget, "_last_priced", None)
    graph = aws_stack(PLAN)
    settings = stack(budget=_ceiling(graph) + 1)
    for rule in (budget_ceiling.RULE, budget_unpriced.RULE, budget_warning.RULE, accelerator_cap.RULE):
        run(rule, list(graph), settings=settings)  # each rule gets its own copy, as the pack adapter does
    assert len(calls) == 1
    # A changed stack (a larger node group) is priced afresh, and the new ceiling is judged.
    base = _node(graph, "gpu-base")
    bigger = _replace(graph, changed(base, ["scalingConfig", "maxSize"], 40))
    outcome = run(budget_ceiling.RULE, bigger, settings=settings)
    assert len(calls) == 2
    assert outcome.violated
