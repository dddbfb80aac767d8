"""Budget pack rules: ceiling, warning share, accelerator cap, spot-only development stacks."""

from __future__ import annotations

import json

import pytest

from servestack.costing import cost_resources
from servestack.policies.common import dev_spot_only
from servestack.policies.stack import accelerator_cap, budget_ceiling, budget_warning
from tests.costing.graphs import Plan, aws_stack
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


def test_no_budget_is_not_applicable() -> None:
    outcome = run(budget_ceiling.RULE, aws_stack(PLAN), settings=stack(budget=None))
    assert outcome.status == "not_applicable"
    assert outcome.reason is not None and "no budget" in outcome.reason


def test_bad_budget_config_is_violation() -> None:
    outcome = run(budget_ceiling.RULE, aws_stack(PLAN), {"monthlyBudgetUsd": -5})
    assert outcome.texts == ["policy config: monthlyBudgetUsd -5 is not a positive number"]


def test_preview_unknown_instance_type_is_not_applicable() -> None:
    graph = aws_stack(PLAN)
    base = _node(graph, "gpu-base")
    graph = _replace(graph, changed(base, ["instanceTypes"], WIRE_UNKNOWN))
    outcome = run(budget_ceiling.RULE, graph, settings=stack(budget=10**7))
    assert outcome.status == "not_applicable"
    assert outcome.reason == "prices unknown during preview: gpu-base (compute): instance type unknown during preview"


def test_unpriced_instance_type_cannot_pass() -> None:
    graph = aws_stack(PLAN)
    graph = _replace(graph, changed(_node(graph, "gpu-base"), ["instanceTypes"], ["x9z.mega"]))
    outcome = run(budget_ceiling.RULE, graph, settings=stack(budget=10**7))
    assert outcome.violated
    assert "gpu-base (compute): x9z.mega is not an instance type of the bundled catalog (aws)" in outcome.texts[0]


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
