"""The dashboard draws the SLO and the plan's figures next to what is measured, and `servestack dashboard` writes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servestack.cli import main
from servestack.components.config import DeploymentConfig
from servestack.monitoring import dashboard, dashboard_json, monitoring_targets
from servestack.monitoring import metrics as m
from servestack.monitoring.dashboard import cost_expr
from tests.monitoring.conftest import ROOT


def _panel(doc: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in doc["panels"] if p["title"] == title)


def _series(panel: dict[str, Any]) -> dict[str, str]:
    return {t["legendFormat"]: t["expr"] for t in panel["targets"]}


def _constant(expr: str) -> float:
    assert expr.startswith("vector(") and expr.endswith(")"), expr
    return float(expr[len("vector("):-1])


def test_latency_panels_carry_the_slo_line(committed: DeploymentConfig) -> None:
    doc = dashboard(monitoring_targets(committed))
    ttft = _series(_panel(doc, "Time to first token"))
    tpot = _series(_panel(doc, "Time per output token"))
    assert _constant(ttft["SLO p95"]) * 1000 == pytest.approx(committed.workload.slo["ttftMsP95"])
    assert _constant(tpot["SLO p95"]) * 1000 == pytest.approx(committed.workload.slo["tpotMsP95"])
    assert m.TTFT_BUCKET in ttft["p95"] and m.TPOT_BUCKET in tpot["p99"]
    assert "SLO p95" not in _series(_panel(doc, "End-to-end request latency"))  # no latency SLO in the stacks


def test_replicas_and_nodes_against_the_plan(committed: DeploymentConfig) -> None:
    d = committed.deployment
    doc = dashboard(monitoring_targets(committed))
    replicas = _series(_panel(doc, "Replicas against the plan"))
    nodes = _series(_panel(doc, "GPU nodes against the plan"))
    assert [_constant(replicas[k]) for k in ("plan min", "plan avg", "plan peak")] == [
        d.replicas_min, d.replicas_avg, d.replicas_peak]
    assert [_constant(nodes[k]) for k in ("plan min", "plan avg", "plan peak")] == [
        d.nodes_min, d.nodes_avg, d.nodes_peak]
    assert m.GPU_UTIL in nodes["running"]


def test_cost_per_hour_uses_the_plans_prices(committed: DeploymentConfig) -> None:
    d = committed.deployment
    t = monitoring_targets(committed)
    cost = _series(_panel(dashboard(t), "GPU cost per hour"))
    peak = d.nodes_min * d.hourly_usd_per_node + (d.nodes_peak - d.nodes_min) * d.hourly_usd_per_node_burst
    assert _constant(cost["plan peak"]) == pytest.approx(peak, abs=0.01)
    assert _constant(cost["plan min"]) == pytest.approx(d.nodes_min * d.hourly_usd_per_node, abs=0.01)
    assert cost["running"] == cost_expr(t)
    assert str(d.hourly_usd_per_node) in cost["running"] and str(d.hourly_usd_per_node_burst) in cost["running"]


def test_hourly_cost_splits_floor_and_burst_prices(committed: DeploymentConfig) -> None:
    t = monitoring_targets(committed)
    base, burst = t.hourly_usd_per_node, t.hourly_usd_per_node_burst
    assert t.hourly_usd(t.nodes_min + 3) == pytest.approx(t.nodes_min * base + 3 * burst)
    assert t.hourly_usd(1) == pytest.approx(base)


def test_dashboard_is_importable_json(committed: DeploymentConfig) -> None:
    t = monitoring_targets(committed)
    doc = json.loads(dashboard_json(t))
    assert doc == dashboard(t)
    assert len(doc["uid"]) <= 40
    assert doc["templating"]["list"][0]["type"] == "datasource"
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))
    assert all(t["datasource"]["uid"] == "${datasource}" for p in doc["panels"] for t in p["targets"])


def test_cli_writes_the_dashboard_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, rules = tmp_path / "dash.json", tmp_path / "rules.yml"
    assert main(["dashboard", "-C", str(ROOT), "-s", "prod", "-o", str(out), "--rules", str(rules)]) == 0
    from servestack.monitoring.targets import stack_config

    t = monitoring_targets(stack_config(ROOT, "prod"))
    assert json.loads(out.read_text()) == dashboard(t)
    assert "VllmTtftP95OverSlo" in rules.read_text()
    assert capsys.readouterr().out == ""


def test_cli_prints_to_stdout_without_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "-C", str(ROOT), "-s", "dev"]) == 0
    assert json.loads(capsys.readouterr().out)["uid"] == "servestack-dev-7b"


def test_cli_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "-C", str(ROOT), "-s", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
