"""Two workloads in one cluster, end to end: two real plans written as one multi-workload stack, previewed under
the mock engine and checked with both policy packs; the fleet costs the shared cluster once plus each pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from servestack.check import run_check
from servestack.check.run import CheckResult
from servestack.preview import run_preview
from servestack.preview.model import PreviewResult
from tests.components.fleet_stacks import (
    AWS_PAIR,
    GCP_PAIR,
    ROOT,
    PlannedServer,
    fleet_stack,
    plan_pair,
    plan_server,
    write_project,
)

PACKS = [ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"]
NODE_TYPES = {"aws": "aws:eks/nodeGroup:NodeGroup", "gcp": "gcp:container/nodePool:NodePool"}
PAIRS = {"aws": AWS_PAIR, "gcp": GCP_PAIR}


@pytest.fixture(scope="module", params=["aws", "gcp"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[
    str, list[PlannedServer], CheckResult, PreviewResult
]:
    cloud: str = request.param
    servers = plan_pair(PAIRS[cloud])
    project = write_project(tmp_path_factory.mktemp(f"fleet-{cloud}"), "fleet", fleet_stack(servers))
    return cloud, servers, run_check(project, "fleet", packs=PACKS), run_preview(project, "fleet")


def test_the_pair_shares_one_region_and_zones(fleet: Any) -> None:
    _, servers, _, _ = fleet
    first, second = (s.deployment for s in servers)
    assert (first.region, first.zone_names) == (second.region, second.zone_names)
    assert first.instance_type != second.instance_type


def test_both_packs_pass_the_fleet(fleet: Any) -> None:
    _, servers, result, _ = fleet
    assert result.passed, [v.to_json() for v in result.mandatory]
    # The only advisories allowed are the budget pack's true statements about the plans (as for one workload).
    budget = sum(s.spec.budget.monthly_usd or 0 for s in servers)
    accelerators = sum(s.deployment.nodes_peak * s.deployment.accelerators_per_node for s in servers)
    expected = {"max-accelerators"} if accelerators > 64 else set()
    if result.costs.ceiling > 0.8 * budget:
        expected.add("budget-monthly-warning")
    assert {v.policy for v in result.violations} == expected, [v.to_json() for v in result.violations]


def test_one_cluster_and_one_pool_per_server(fleet: Any) -> None:
    cloud, servers, _, preview = fleet
    clusters = [r for r in preview.resources if r.type in ("aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster")]
    assert len(clusters) == 1, [r.urn for r in clusters]
    for server in servers:
        pool, d = server.spec.name, server.deployment
        groups = [r for r in preview.resources if r.type == NODE_TYPES[cloud] and r.name.startswith(f"{pool}-gpu-")]
        assert groups, f"no GPU node group of pool {pool}"
        for group in groups:
            labels = group.inputs["labels"] if cloud == "aws" else group.inputs["nodeConfig"]["labels"]
            machine = group.inputs["instanceTypes"][0] if cloud == "aws" else group.inputs["nodeConfig"]["machineType"]
            assert labels["servestack.io/pool"] == pool, group.urn
            assert machine == d.instance_type, group.urn
        # The pool's server selects its own pool's nodes, so two pools of one accelerator cannot mix.
        workload = next(r for r in preview.resources
                        if r.type == "kubernetes:apps/v1:Deployment" and r.name == f"{pool}-server-workload")
        selector = workload.inputs["spec"]["template"]["spec"]["nodeSelector"]
        assert selector == {"servestack.io/accelerator": d.accelerator, "servestack.io/pool": pool}, workload.urn
    assert set(preview.outputs["endpoints"]) == {s.spec.name for s in servers}


def test_fleet_costs_the_shared_cluster_once_plus_each_pool(fleet: Any) -> None:
    cloud, servers, result, preview = fleet
    costs = preview.costs
    assert costs is not None and costs.showback is not None
    assert result.costs.expected == pytest.approx(costs.expected, abs=0.01)
    control_planes = [line for line in costs.lines if line.item == "control-plane"]
    assert len(control_planes) == 1
    show = costs.showback
    # Every known line is either one workload's or shared: the parts add up to the total.
    assert sum(s.direct_expected for s in show.shares) + show.shared_expected == pytest.approx(costs.expected)
    assert sum(s.expected for s in show.shares) == pytest.approx(costs.expected)
    assert sum(s.ceiling for s in show.shares) == pytest.approx(costs.ceiling)
    planned = sum(s.monthly_usd_expected for s in servers)
    if cloud == "aws":
        # Each single-workload plan is its pool plus the same shared cluster (NAT per gateway, same zones): the
        # fleet pays the shared part once.
        for server in servers:
            pool = show.share(server.spec.name)
            assert server.monthly_usd_expected == pytest.approx(pool.direct_expected + show.shared_expected, abs=0.01)
        assert costs.expected == pytest.approx(planned - (len(servers) - 1) * show.shared_expected, abs=0.01)
    else:
        # Cloud NAT bills per VM, so the shared part grows with the pools; the control plane and system nodes
        # are still paid once.
        platform = control_planes[0].expected or 0.0
        assert costs.expected < planned - (len(servers) - 1) * platform


def test_showback_splits_the_shared_cost_by_gpu_cost(fleet: Any) -> None:
    _, servers, _, preview = fleet
    show = preview.costs.showback
    a, b = (show.share(s.spec.name) for s in servers)
    assert a.gpu_expected > 0 and b.gpu_expected > 0
    assert a.shared_expected / b.shared_expected == pytest.approx(a.gpu_expected / b.gpu_expected)
    assert a.shared_ceiling / b.shared_ceiling == pytest.approx(a.gpu_ceiling / b.gpu_ceiling)


def test_each_workload_carries_its_own_owner_tags(fleet: Any) -> None:
    cloud, servers, _, preview = fleet
    for server in servers:
        owner = server.spec.owner
        assert owner is not None
        groups = [r for r in preview.resources if r.type == NODE_TYPES[cloud] and r.name.startswith(server.spec.name)]
        tags = groups[0].inputs["tags"] if cloud == "aws" else groups[0].inputs["nodeConfig"]["resourceLabels"]
        assert (tags["team"], tags["cost-center"], tags["workload"]) == (owner.team, owner.cost_center,
                                                                         server.spec.name)
    # The shared cluster is the platform team's and no single workload's.
    clusters = ("aws:eks/cluster:Cluster", "gcp:container/cluster:Cluster")
    cluster = next(r for r in preview.resources if r.type in clusters)
    tags = cluster.inputs["tags"] if cloud == "aws" else cluster.inputs["resourceLabels"]
    assert tags["team"] == "ml-platform" and "workload" not in tags


def test_a_bad_fleet_stops_the_check_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from servestack.cli import main

    config = fleet_stack(plan_pair(AWS_PAIR))
    config["servestack:fleet"]["servers"][1]["deployment"]["nodesPeak"] = 1
    write_project(tmp_path, "fleet", config)
    code = main(["check", "-C", str(tmp_path), "-s", "fleet"])
    captured = capsys.readouterr()
    assert code == 2
    assert "servestack:fleet.servers[1].deployment: nodesPeak (1) must be" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_a_mixed_fleet_deploys_a_server_per_pool_of_one_workload(tmp_path: Path) -> None:
    # One workload on two accelerator pools, each serving a request class (issue 12). Until a router fronts
    # them, each pool exports its own endpoint.
    from servestack.catalog import load_catalog
    from servestack.selector.plan import plan

    server = plan_server("summarize-8b", "aws", "us-east-1")
    catalog = load_catalog()
    other = next(c.deployment(server.spec, catalog) for c in plan(server.spec.model_copy(update={
        "placement": server.spec.placement.model_copy(update={"clouds": ["aws"], "regions": ["us-east-1"]})}),
        catalog, top=100).candidates
        if c.instance_type != server.deployment.instance_type
        and c.deployment(server.spec, catalog).zone_names == server.deployment.zone_names)
    config = fleet_stack([server])
    config["servestack:fleet"] = {"servers": [
        {"workload": "summarize-8b", "pool": "short", "deployment": server.deployment.to_stack_config(),
         "requestClasses": [{"name": "short", "share": 0.8, "inputTokens": 1000, "outputTokens": 200}]},
        {"workload": "summarize-8b", "pool": "long", "deployment": other.to_stack_config(),
         "requestClasses": [{"name": "long", "share": 0.2, "inputTokens": 12000, "outputTokens": 500}]},
    ]}
    preview = run_preview(write_project(tmp_path, "mixed", config), "mixed")
    assert set(preview.outputs["endpoints"]) == {"short", "long"}
    servers = {r.name: r for r in preview.resources if r.type == "kubernetes:apps/v1:Deployment"}
    for pool, d in (("short", server.deployment), ("long", other)):
        spec = servers[f"{pool}-server-workload"].inputs["spec"]["template"]["spec"]
        assert spec["nodeSelector"]["servestack.io/pool"] == pool
        command = spec["containers"][0]["command"]
        assert command[command.index("--served-model-name") + 1] == "summarize-8b"
        groups = [r for r in preview.resources if r.type == NODE_TYPES["aws"] and r.name.startswith(f"{pool}-gpu-")]
        assert {g.inputs["instanceTypes"][0] for g in groups} == {d.instance_type}
