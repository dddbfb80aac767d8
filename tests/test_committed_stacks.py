"""The committed stacks are what `plan --write` makes from their examples, and the program builds them.

If the catalog, the performance model or the selector changes the choice, this fails until the stacks
are rewritten (`servestack plan examples/... --env ENV --write`), so a reviewer sees the change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.catalog import load_catalog
from servestack.contract import ApiAccess
from servestack.contract.environment import spec_for_environment
from servestack.generate import StackChoices, owned_stack_config
from servestack.preview import run_preview
from servestack.selector import plan
from servestack.workload import load_spec

ROOT = Path(__file__).resolve().parents[1]
# stack name -> (example it is planned from, environment kind)
COMMITTED = {"prod": ("chat-70b.yaml", "prod"), "dev": ("dev-7b-spot.yaml", "dev")}


def _config(stack: str) -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    config: dict[str, Any] = doc["config"]
    return config


@pytest.mark.parametrize("stack", sorted(COMMITTED))
def test_stack_is_what_plan_writes_today(stack: str) -> None:
    example, kind = COMMITTED[stack]
    spec = spec_for_environment(load_spec(ROOT / "examples" / example), kind)
    catalog = load_catalog()
    result = plan(spec, catalog)
    assert result.chosen is not None
    config = _config(stack)
    # The choices the spec cannot make are the flags the stack was written with; read them back.
    choices = StackChoices(
        api_access=ApiAccess.model_validate(config["servestack:apiAccess"]),
        hf_token_secret=config.get("servestack:hfTokenSecret"),
        cluster_admins=tuple(config.get("servestack:clusterAdmins", ())),
        commitment_purchased=bool(config.get("servestack:commitmentPurchased", False)),
        gcp_project=config.get("gcp:project"),
    )
    owned = owned_stack_config(spec, result.chosen.deployment(spec, catalog), kind, choices)
    assert {k: config.get(k) for k in owned} == owned


@pytest.mark.parametrize("stack", sorted(COMMITTED))
def test_offline_graph_matches_the_plan(stack: str) -> None:
    dep = _config(stack)["servestack:deployment"]
    graph = run_preview(ROOT, stack)
    if dep["cloud"] == "aws":
        groups = [r for r in graph.by_type("aws:eks/nodeGroup:NodeGroup") if r.inputs["instanceTypes"] != ["m6i.large"]]
        assert groups and all(g.inputs["instanceTypes"] == [dep["instanceType"]] for g in groups)
        mins = sum(g.inputs["scalingConfig"]["minSize"] for g in groups)
        maxes = sum(g.inputs["scalingConfig"]["maxSize"] for g in groups)
        regions = {graph.config.get("aws:region")}
    else:
        groups = [r for r in graph.by_type("gcp:container/nodePool:NodePool")
                  if r.inputs["nodeConfig"].get("guestAccelerators")]
        assert groups and all(g.inputs["nodeConfig"]["machineType"] == dep["instanceType"] for g in groups)
        # A fixed (base) pool has a per-zone nodeCount; a burst pool total autoscaling bounds.
        mins = sum(_pool_bounds(g.inputs)[0] for g in groups)
        maxes = sum(_pool_bounds(g.inputs)[1] for g in groups)
        regions = {g.inputs["location"] for g in groups}
    assert (mins, maxes) == (dep["nodesMin"], dep["nodesPeak"])
    assert regions == {dep["region"]}
    (scaler,) = graph.by_type("kubernetes:keda.sh/v1alpha1:ScaledObject")
    spec = scaler.inputs["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (dep["replicasMin"], dep["replicasPeak"])
    assert graph.monthly_usd_ceiling == pytest.approx(plan_ceiling(stack), abs=0.01)


def _pool_bounds(inputs: dict[str, Any]) -> tuple[int, int]:
    if "autoscaling" in inputs:
        return inputs["autoscaling"]["totalMinNodeCount"], inputs["autoscaling"]["totalMaxNodeCount"]
    total = inputs["nodeCount"] * len(inputs["nodeLocations"])
    return total, total


def plan_ceiling(stack: str) -> float:
    example, kind = COMMITTED[stack]
    chosen = plan(spec_for_environment(load_spec(ROOT / "examples" / example), kind), load_catalog()).chosen
    assert chosen is not None
    return chosen.monthly_usd_ceiling
