"""The costed ceiling of a stack shaped as `plan --write` describes it equals the plan's monthly_usd_ceiling.

Runs the real `servestack plan --json` on bundled examples, builds the contract's resource graph from the
chosen candidate and prices it: the plan and the cost engine must agree to the cent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servestack.cli import main
from servestack.costing import cost_resources
from tests.costing.graphs import Plan, aws_stack, gcp_stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _root_volume(example: str) -> Any:
    """The deployment contract's root volume of the chosen stack (throughput and IOPS are priced above gp3's
    baseline, so the graph must carry what the contract provisions)."""
    from servestack.catalog import load_catalog
    from servestack.contract.environment import spec_for_environment
    from servestack.selector import plan
    from servestack.workload import load_spec

    catalog = load_catalog()
    spec = spec_for_environment(load_spec(EXAMPLES / f"{example}.yaml"), "prod")
    chosen = plan(spec, catalog).chosen
    assert chosen is not None
    return chosen.deployment(spec, catalog)


@pytest.mark.parametrize("example", ["chat-70b", "dev-7b-spot", "summarize-8b"])
def test_costed_ceiling_equals_plan(example: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(EXAMPLES / f"{example}.yaml"), "--env", "prod", "--json"]) == 0
    chosen = json.loads(capsys.readouterr().out)["chosen"]
    volume = _root_volume(example)
    plan = Plan(
        cloud=chosen["cloud"], region=chosen["region"], instance_type=chosen["instance_type"], zones=chosen["zones"],
        nodes_min=chosen["nodes_min"], nodes_avg=chosen["nodes_avg"], nodes_peak=chosen["nodes_peak"],
        pricing_base=chosen["pricing_base"], pricing_burst=chosen["pricing_burst"],
        root_gib=chosen["root_volume_gib"], accelerators_per_node=chosen["accelerators_per_node"],
        root_throughput_mibps=volume.root_volume_throughput_mibps, root_iops=volume.root_volume_iops,
        spot_instance_types=tuple(volume.spot_instance_types or ()),
    )
    graph = aws_stack(plan) if plan.cloud == "aws" else gcp_stack(plan)
    # The plan prices a 1y/3y floor as bought; the stack config says so once it is.
    report = cost_resources(graph, stack_config={f"{plan.cloud}:region": plan.region,
                                                 "servestack:commitmentPurchased": "true"})
    assert round(report.ceiling, 2) == pytest.approx(chosen["monthly_usd_ceiling"], abs=0.011)
    assert round(report.expected, 2) == pytest.approx(chosen["monthly_usd_expected"], abs=0.011)


GCP_THREE_ZONES = """\
name: g2-three
model: {id: mistral-7b, precision: bf16, max_context_tokens: 4096}
traffic: {peak_requests_per_s: 12, avg_requests_per_s: 6, avg_input_tokens: 500, avg_output_tokens: 200}
slo: {ttft_ms_p95: 3000, tpot_ms_p95: 150}
availability: {min_replicas: 3, zones: 3}
placement: {clouds: [gcp], regions: [us-central1], accelerators_allowed: [L4]}
pricing: {spot: never, commitment: none}
budget: {monthly_usd: 10000}
owner: {team: ml, cost_center: cc-1}
"""


def test_gcp_plan_over_three_zones_previews_at_the_plans_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GKE counts nodeCount/initialNodeCount/min/maxNodeCount per zone: the written program must cost what the plan
    said (a g2 plan over three zones once previewed at $1,029 against the plan's $1,245)."""
    import shutil

    from servestack.preview import run_preview

    root = EXAMPLES.parent
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(root / name, tmp_path / name)
    spec = tmp_path / "g2-three.yaml"
    spec.write_text(GCP_THREE_ZONES)
    code = main(["plan", str(spec), "--env", "prod", "--write", "-C", str(tmp_path), "--gcp-project", "proj-e2e",
                 "--api-cidr", "203.0.113.0/24", "--hf-token-secret", "servestack-hf-token", "--json"])
    chosen = json.loads(capsys.readouterr().out)["chosen"]
    assert code == 0 and chosen["zones"] == 3 and chosen["cloud"] == "gcp"
    preview = run_preview(tmp_path, "prod")
    assert preview.monthly_usd_expected == pytest.approx(chosen["monthly_usd_expected"], abs=0.011)
    assert preview.monthly_usd_ceiling == pytest.approx(chosen["monthly_usd_ceiling"], abs=0.011)
