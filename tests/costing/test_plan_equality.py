"""The costed ceiling of a stack shaped as `plan --write` describes it equals the plan's monthly_usd_ceiling.

Runs the real `servestack plan --json` on bundled examples, builds the contract's resource graph from the
chosen candidate and prices it: the plan and the cost engine must agree to the cent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servestack.cli import main
from servestack.costing import cost_resources
from tests.costing.graphs import Plan, aws_stack, gcp_stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", ["chat-70b", "dev-7b-spot", "summarize-8b"])
def test_costed_ceiling_equals_plan(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EXAMPLES / f"{example}.yaml"), "--env", "prod", "--json"]) == 0
    chosen = json.loads(capsys.readouterr().out)["chosen"]
    plan = Plan(
        cloud=chosen["cloud"], region=chosen["region"], instance_type=chosen["instance_type"], zones=chosen["zones"],
        nodes_min=chosen["nodes_min"], nodes_avg=chosen["nodes_avg"], nodes_peak=chosen["nodes_peak"],
        pricing_base=chosen["pricing_base"], pricing_burst=chosen["pricing_burst"],
        root_gib=chosen["root_volume_gib"], accelerators_per_node=chosen["accelerators_per_node"],
    )
    graph = aws_stack(plan) if plan.cloud == "aws" else gcp_stack(plan)
    # The plan prices a 1y/3y floor as bought; the stack config says so once it is.
    report = cost_resources(graph, stack_config={f"{plan.cloud}:region": plan.region,
                                                 "servestack:commitmentPurchased": "true"})
    assert round(report.ceiling, 2) == pytest.approx(chosen["monthly_usd_ceiling"], abs=0.011)
    assert round(report.expected, 2) == pytest.approx(chosen["monthly_usd_expected"], abs=0.011)
