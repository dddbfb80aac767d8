"""`servestack new` with mixed fleets: the project deploys the fleet the plan chose, alone and beside other
workloads (joint planning prices separate clusters and the shared cluster with the mixed fleets too)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.catalog import load_catalog
from servestack.catalog.platform import HOURS_PER_MONTH, platform_monthly_usd, platform_prices
from servestack.catalog.store import choose_catalog
from servestack.cli import main
from servestack.contract.environment import spec_for_environment
from servestack.project.render import money
from servestack.selector import plan
from servestack.selector.joint import joint_plan
from servestack.workload import load_spec
from servestack.workload.spec import WorkloadSpec

ROOT = Path(__file__).resolve().parents[2]
MIXED = ROOT / "examples" / "mixed-fleet-7b.yaml"
SMALL = ROOT / "examples" / "dev-7b-spot.yaml"
# The flags both `servestack new` and `servestack plan --write` take, so their stack files can be compared.
FLAGS = ("--api-cidr", "203.0.113.0/24", "--hf-token-secret", "servestack/hf-token")


@pytest.fixture(scope="module")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog(choose_catalog().path)


def _spec(path: Path, kind: str = "prod", **changes: Any) -> WorkloadSpec:
    spec = load_spec(path)
    if changes:
        spec = spec.model_copy(update=changes)
    return spec_for_environment(spec, kind)


def _write_variant(path: Path, source: Path, **changes: Any) -> Path:
    data = yaml.safe_load(source.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _new(directory: Path, workloads: Sequence[Path], *extra: str) -> int:
    argv = ["new", str(directory), "--name", "platform", "--env", "prod", *FLAGS, *extra]
    for w in workloads:
        argv += ["--workload", str(w)]
    return main(argv)


def _config(project: Path, stack: str) -> dict[str, Any]:
    config = yaml.safe_load((project / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert isinstance(config, dict)
    return config


def _readme_total(project: Path, stack: str) -> str:
    section = (project / "README.md").read_text().split(f"Stack `{stack}`", 1)[1]
    return next(line for line in section.splitlines() if line.startswith("| **total**"))


def _preview_and_check(project: Path, stack: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """`servestack preview -s STACK` and `servestack check -s STACK` in the project: both succeed; the preview."""
    capsys.readouterr()
    assert main(["preview", "-C", str(project), "-s", stack, "--json"]) == 0
    preview = json.loads(capsys.readouterr().out)
    code = main(["check", "-C", str(project), "-s", stack, "--policy-config", str(project / "policy" / f"{stack}.json"),
                 "--json"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 0 and verdict["passed"], verdict["violations"]
    assert isinstance(preview, dict)
    return preview


# ---- one workload ----------------------------------------------------------------------------------------

def test_the_mixed_example_project_deploys_the_fleet_its_plan_chose(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    spec = _spec(MIXED)
    result = plan(spec, catalog)
    assert result.mixed is not None, "the example is meant to plan a mixed fleet"
    project = tmp_path / "p"
    assert _new(project, [MIXED]) == 0
    config = _config(project, "prod")
    assert "servestack:deployment" not in config and "servestack:workload" not in config
    assert config["servestack:fleet"] == result.mixed.fleet(spec, catalog).to_stack_config()
    assert [w["name"] for w in config["servestack:workloads"]] == [spec.name]
    # The README: a line per pool naming its classes, and the plan's totals.
    readme = (project / "README.md").read_text()
    for pool in result.mixed.pools:
        line = f"| {spec.name}: pool {pool.name} (serves {', '.join(pool.classes)}) | {pool.candidate.instance_type} |"
        assert line in readme
    assert _readme_total(project, "prod") == (f"| **total** | | | | | | **{money(result.mixed.monthly_usd_expected)}** "
                                              f"| **{money(result.mixed.monthly_usd_ceiling)}** |")
    policy = json.loads((project / "policy" / "prod.json").read_text())
    assert policy["allowed-accelerators"]["accelerators"] == sorted({p.candidate.accelerator
                                                                    for p in result.mixed.pools})


def test_plan_write_and_plan_report_agree_with_the_generated_mixed_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert _new(project, [MIXED]) == 0
    pools = len(_config(project, "prod")["servestack:fleet"]["servers"])
    assert f"{pools} mixed fleet pools behind one router" in capsys.readouterr().out
    stack_file = project / "stacks" / "Pulumi.prod.yaml"
    generated = stack_file.read_bytes()
    report = tmp_path / "plan.html"
    assert main(["plan", str(project / "workloads" / "assistant-7b.yaml"), "--env", "prod", "--write", "-C",
                 str(project), "--report", str(report), *FLAGS]) == 0
    assert stack_file.read_bytes() == generated, capsys.readouterr().out
    assert (project / "reports" / "prod.html").read_text() == report.read_text()


def test_update_moves_a_project_onto_the_mixed_fleet_when_the_spec_gains_a_mix(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    # The same workload with one average request size plans one pool; its mix plans a mixed fleet.
    plain = _write_variant(tmp_path / "plain.yaml", MIXED, traffic={
        "peak_requests_per_s": 30, "avg_requests_per_s": 15, "avg_input_tokens": 100, "avg_output_tokens": 60})
    project = tmp_path / "p"
    assert _new(project, [plain]) == 0
    assert "servestack:deployment" in _config(project, "prod")
    (project / "workloads" / "assistant-7b.yaml").write_text(MIXED.read_text())
    assert main(["new", str(project), "--update"]) == 0
    config = _config(project, "prod")
    spec = _spec(MIXED)
    mixed = plan(spec, catalog).mixed
    assert mixed is not None
    # The single-server pair the first run wrote is gone (it was servestack's, unedited), the fleet is in.
    assert "servestack:deployment" not in config and "servestack:workload" not in config
    assert config["servestack:fleet"] == mixed.fleet(spec, catalog).to_stack_config()


# ---- several workloads -----------------------------------------------------------------------------------

def test_separate_clusters_cost_each_workload_its_mixed_fleet(tmp_path: Path, catalog) -> None:  # type: ignore[no-untyped-def]
    # The small workload only on GCP: no region serves both, so each gets its own cluster.
    gcp_only = _write_variant(tmp_path / "small.yaml", SMALL,
                              placement={"clouds": ["gcp"], "regions": ["us-central1"]})
    specs = [_spec(MIXED), _spec(gcp_only)]
    joint = joint_plan(specs, catalog)
    assert joint.mode == "separate_clusters" and joint.one_cluster is None
    mixed, small = (plan(s, catalog) for s in specs)
    assert mixed.mixed is not None and small.chosen is not None and small.mixed is None
    fleet, alone = mixed.mixed, small.chosen
    assert joint.separate_expected == pytest.approx(fleet.monthly_usd_expected + alone.monthly_usd_expected)
    assert joint.separate_ceiling == pytest.approx(fleet.monthly_usd_ceiling + alone.monthly_usd_ceiling)
    assert joint.to_json()["separate_clusters"]["chosen"][0]["pools"] == mixed.mixed.to_json()["pools"]

    project = tmp_path / "p"
    assert _new(project, [MIXED, gcp_only], "--gcp-project", "proj-e2e") == 0
    config = _config(project, "prod-assistant-7b")
    assert config["servestack:fleet"] == mixed.mixed.fleet(specs[0], catalog).to_stack_config()
    assert f"**{money(mixed.mixed.monthly_usd_expected)}**" in _readme_total(project, "prod-assistant-7b")


def test_one_cluster_takes_the_mixed_pools_when_they_are_cheaper(catalog) -> None:  # type: ignore[no-untyped-def]
    specs = [_spec(MIXED), _spec(SMALL)]
    joint = joint_plan(specs, catalog)
    one = joint.one_cluster
    assert one is not None and joint.mode == "one_cluster"
    own = plan(specs[0], catalog)
    assert own.mixed is not None and own.chosen is not None
    taken = one.fleet_of(0)
    assert taken is not None and taken.to_json() == own.mixed.to_json() and one.fleet_of(1) is None
    small = one.candidates[1]
    # Independently: each alone pays a whole platform (the mixed fleet's load balancer is its router's); in one
    # cluster the platform but the load balancers is paid once (AWS NAT is per zone, not per node), and the
    # router and the small server each keep their load balancer.
    load_balancer = platform_prices(one.cloud).load_balancer_per_hour * HOURS_PER_MONTH
    shared = platform_monthly_usd(one.cloud, joint.zones, 0, 0) - load_balancer
    assert one.monthly_usd_expected == pytest.approx(own.mixed.monthly_usd_expected + small.monthly_usd_expected
                                                     - shared)
    assert one.monthly_usd_ceiling == pytest.approx(own.mixed.monthly_usd_ceiling + small.monthly_usd_ceiling - shared)
    # ...which beats the homogeneous stack in the same cluster by what the mixed fleet saves alone.
    homogeneous = own.chosen.monthly_usd_expected + small.monthly_usd_expected - shared
    assert one.monthly_usd_expected == pytest.approx(homogeneous - own.mixed.saving_usd)
    assert sum(one.shares()) == pytest.approx(one.shared_expected)
    assert one.shared_expected == pytest.approx(shared + load_balancer)


def test_a_project_with_a_mixed_workload_in_one_cluster_previews_and_checks(
    tmp_path: Path, catalog, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    project = tmp_path / "p"
    capsys.readouterr()
    assert _new(project, [MIXED, SMALL], "--shared-owner", "ml-platform/cc-1000", "--json") == 0
    (planned,) = json.loads(capsys.readouterr().out)["environments"]
    assert planned["mode"] == "one_cluster"
    specs = [_spec(MIXED), _spec(SMALL)]
    joint = joint_plan(specs, catalog)
    one = joint.one_cluster
    assert one is not None
    fleet = one.fleet_of(0)
    assert fleet is not None
    config = _config(project, "prod")
    servers = config["servestack:fleet"]["servers"]
    expected_pools = fleet.fleet(specs[0], catalog).to_stack_config()["servers"]
    assert [(s["workload"], s["pool"], s.get("requestClasses")) for s in servers] == [
        *((s["workload"], s["pool"], s["requestClasses"]) for s in expected_pools), ("dev-7b", "dev-7b", None)]
    assert {tuple(s["deployment"]["zoneNames"]) for s in servers} == {one.zone_names}

    preview = _preview_and_check(project, "prod", capsys)
    assert preview["monthly_usd"]["expected"] == pytest.approx(one.monthly_usd_expected, abs=0.01)
    assert preview["monthly_usd"]["ceiling"] == pytest.approx(one.monthly_usd_ceiling, abs=0.01)
    assert f"**{money(one.monthly_usd_expected)}**" in _readme_total(project, "prod")
    assert "(assistant-7b on mixed fleet pools behind one router)" in (project / "README.md").read_text()
    gateways = [r for r in preview["resources"] if r["type"] == "kubernetes:gateway.networking.k8s.io/v1:Gateway"]
    assert len(gateways) == 1


def test_two_mixed_workloads_share_one_router(
    tmp_path: Path, catalog, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
) -> None:
    second = _write_variant(tmp_path / "helper.yaml", MIXED, name="helper-7b")
    project = tmp_path / "p"
    capsys.readouterr()
    assert _new(project, [MIXED, second], "--json") == 0
    (planned,) = json.loads(capsys.readouterr().out)["environments"]
    assert planned["mode"] == "one_cluster"
    one = joint_plan([_spec(MIXED), _spec(second)], catalog).one_cluster
    assert one is not None and all(one.workload_fleets())
    pools = [s["pool"] for s in _config(project, "prod")["servestack:fleet"]["servers"]]
    assert pools == [p.name for f in one.workload_fleets() if f is not None for p in f.pools]
    assert len(set(pools)) == len(pools) == 4
    preview = _preview_and_check(project, "prod", capsys)
    # One router for both workloads: its load balancer is paid once, as the joint plan priced it.
    assert preview["monthly_usd"]["expected"] == pytest.approx(one.monthly_usd_expected, abs=0.01)
    gateways = [r for r in preview["resources"] if r["type"] == "kubernetes:gateway.networking.k8s.io/v1:Gateway"]
    assert len(gateways) == 1
