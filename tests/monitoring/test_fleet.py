"""Monitoring of stacks with several servers, from real plans: the mixed-fleet example as `plan --write` writes it
(one workload on two pools) and two workloads in one cluster. Every pool gets its own rule group and dashboard,
selecting its own model server; the one Prometheus the program installs loads them all, promtool-valid."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.cli import main
from servestack.components.config import DeploymentConfig
from servestack.monitoring import dashboard, fleet_rules_document, fleet_targets, rules_yaml
from servestack.monitoring import metrics as m
from servestack.monitoring.rules import GPU_GROUP
from servestack.monitoring.targets import stack_config
from tests.components.fleet_stacks import AWS_PAIR, ROOT, fleet_stack, plan_pair, write_project

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (apt-get install -y prometheus)")


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`plan --write` of the mixed-fleet example: one workload served by two pools."""
    project = tmp_path_factory.mktemp("mixed")
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    assert main(["plan", str(ROOT / "examples" / "mixed-fleet-7b.yaml"), "--env", "fleet", "--write", "-C",
                 str(project), "--api-cidr", "203.0.113.0/24"]) == 0
    return project


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two workloads, each on its own pool, in one cluster."""
    return write_project(tmp_path_factory.mktemp("pair"), "fleet", fleet_stack(plan_pair(AWS_PAIR)))


@pytest.fixture(params=["mixed", "pair"])
def project(request: pytest.FixtureRequest) -> Path:
    found: Path = request.getfixturevalue(str(request.param))
    return found


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


def test_one_rule_group_per_pool_and_the_gpu_group_once(project: Path) -> None:
    cfg = stack_config(project, "fleet")
    targets = fleet_targets(cfg)
    assert [t.pool for t in targets] == [s.pool for s in cfg.fleet.servers]
    groups = fleet_rules_document(targets)["groups"]
    names = [g["name"] for g in groups]
    assert len(names) == len(set(names)), names
    assert [n for n in names if n != GPU_GROUP] == [f"servestack-{s.pool}" for s in cfg.fleet.servers]
    assert names.count(GPU_GROUP) == 1  # every pool runs NVIDIA parts; DCGM reports per node, once
    pool_groups = [g for g in groups if g["name"] != GPU_GROUP]
    for group, server in zip(pool_groups, cfg.fleet.servers, strict=True):
        for rule in group["rules"]:
            assert rule["labels"]["pool"] == server.pool and rule["labels"]["workload"] == server.workload, rule
            assert not rule["alert"].startswith(("Dcgm", "Gpu")), "GPU health is the cluster's, in its own group"
    # Each alert name appears once per pool, never twice in one pool.
    for group in groups:
        alerts = [r["alert"] for r in group["rules"]]
        assert len(alerts) == len(set(alerts)), alerts


def test_each_pool_selects_its_own_model_server(project: Path) -> None:
    cfg = stack_config(project, "fleet")
    for t, server in zip(fleet_targets(cfg), cfg.fleet.servers, strict=True):
        assert t.namespace == server.pool  # the namespace ModelPool creates
        group = next(g for g in fleet_rules_document([t])["groups"] if g["name"] == f"servestack-{server.pool}")
        for rule in group["rules"]:
            if "vllm:" in rule["expr"]:
                assert f'namespace="{server.pool}"' in rule["expr"], rule
        board = dashboard(t)
        assert board["uid"] == f"servestack-{server.pool}"
        exprs = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
        assert all(f'namespace="{server.pool}"' in e for e in exprs if "vllm:" in e)


def test_the_program_loads_every_pools_rules_and_dashboard(project: Path) -> None:
    from servestack.preview import run_preview

    cfg: DeploymentConfig = stack_config(project, "fleet")
    resources = run_preview(project, "fleet").resources
    (prometheus,) = [r for r in resources
                     if r.type == "kubernetes:helm.sh/v3:Release" and r.name.endswith("-addons-prometheus")]
    loaded = prometheus.inputs["values"]["serverFiles"]["alerting_rules.yml"]
    assert loaded == fleet_rules_document(fleet_targets(cfg))
    boards = {r.name: json.loads(next(iter(r.inputs["data"].values()))) for r in resources
              if r.type == "kubernetes:core/v1:ConfigMap" and r.name.endswith("-dashboard")}
    for t in fleet_targets(cfg):
        assert boards[f"{t.pool}-dashboard"] == dashboard(t)


@needs_promtool
def test_promtool_accepts_the_fleet_rules(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "alerting_rules.yml"
    path.write_text(rules_yaml(fleet_targets(stack_config(project, "fleet"))), encoding="utf-8")
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


@needs_promtool
def test_a_slow_pool_fires_its_own_alert_only(mixed: Path, tmp_path: Path) -> None:
    # Both pools serve one model name: only the namespace tells the slow pool's series from the fast one's.
    cfg = stack_config(mixed, "fleet")
    slow, fast = fleet_targets(cfg)
    assert slow.workload == fast.workload and slow.ttft_p95_s is not None
    doc = fleet_rules_document([slow, fast])
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    over = {"0.5": 0, str(slow.ttft_p95_s * 2): 60, "+Inf": 60}  # every request above the SLO
    under = {"0.001": 0, str(slow.ttft_p95_s / 2): 60, "+Inf": 60}

    def series(pool: str, buckets: dict[str, int]) -> list[dict[str, str]]:
        return [{"series": f'{m.TTFT_BUCKET}{{model_name="{slow.workload}",namespace="{pool}",le="{le}"}}',
                 "values": f"0+{count}x40"} for le, count in buckets.items()]

    labels: dict[str, Any] = {"severity": slow.severity, "workload": slow.workload, "pool": slow.pool}
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": series(str(slow.pool), over) + series(str(fast.pool), under),
        "alert_rule_test": [{"eval_time": "30m", "alertname": "VllmTtftP95OverSlo",
                             "exp_alerts": [{"exp_labels": labels}]}],
    }]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test), encoding="utf-8")
    result = _promtool("test", "rules", str(tmp_path / "test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_cli_asks_for_a_pool_and_writes_every_one(pair: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = stack_config(pair, "fleet")
    pools = [s.pool for s in cfg.fleet.servers]
    assert main(["dashboard", "-C", str(pair), "-s", "fleet"]) == 2
    err = capsys.readouterr().err
    assert "--pool" in err and all(p in err for p in pools), err
    assert main(["dashboard", "-C", str(pair), "-s", "fleet", "--pool", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and all(p in err for p in pools), err

    assert main(["dashboard", "-C", str(pair), "-s", "fleet", "--pool", pools[1]]) == 0
    assert json.loads(capsys.readouterr().out)["uid"] == f"servestack-{pools[1]}"

    out = tmp_path / "boards"
    rules = tmp_path / "rules.yml"
    assert main(["dashboard", "-C", str(pair), "-s", "fleet", "--output-dir", str(out), "--rules", str(rules),
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["pool"] for s in doc["servers"]] == pools
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p}.json" for p in pools)
    assert yaml.safe_load(rules.read_text()) == doc["rules"] == fleet_rules_document(fleet_targets(cfg))
