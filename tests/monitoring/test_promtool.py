"""promtool validates the rendered rules, and its rule unit tests show each SLO alert fires just above the SLO.

Debian's `prometheus` package ships promtool (CI installs it in .ci/run); without it these tests skip.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.components.config import DeploymentConfig
from servestack.monitoring import metrics as m
from servestack.monitoring import monitoring_targets, rules_document, rules_yaml
from tests.monitoring.conftest import with_slo

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install -y prometheus); CI installs it in .ci/run"
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_committed_stacks_rules(committed: DeploymentConfig, tmp_path: Path) -> None:
    path = tmp_path / "alerting_rules.yml"
    path.write_text(rules_yaml(monitoring_targets(committed)), encoding="utf-8")
    result = _promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rejects_a_broken_expression(tmp_path: Path) -> None:
    # The check can fail: a rules file with an unbalanced expression is refused.
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "sum(rate(x[5m])"}]}]}))
    assert _promtool("check", "rules", str(path)).returncode != 0


def _bucket_series(metric: str, model: str, per_minute: dict[str, int]) -> list[dict[str, str]]:
    """Cumulative histogram buckets growing by `per_minute` observations a minute (le -> count up to le)."""
    return [
        {"series": f'{metric}{{model_name="{model}",le="{le}"}}', "values": f"0+{count}x40"}
        for le, count in per_minute.items()
    ]


def _unit_test(cfg: DeploymentConfig, tmp_path: Path, alert: str, series: list[dict[str, str]], fires: bool) -> None:
    t = monitoring_targets(cfg)
    doc: dict[str, Any] = rules_document(t)
    for rule in doc["groups"][0]["rules"]:
        rule.pop("annotations")  # rendered with $value; the unit test is about when the alert fires
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    expected = [{"exp_labels": {"severity": t.severity}}] if fires else []
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": series,
            "alert_rule_test": [{"eval_time": "30m", "alertname": alert, "exp_alerts": expected}],
        }],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test), encoding="utf-8")
    result = _promtool("test", "rules", str(tmp_path / "test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("slow", [True, False], ids=["over-slo-fires", "under-slo-silent"])
def test_ttft_alert_fires_only_over_the_slo(committed: DeploymentConfig, tmp_path: Path, slow: bool) -> None:
    # SLO 1 s. Slow: every request lands in (1, 2.5] s, so p95 is about 2.4 s. Fast: all in (0.5, 1] s, p95 < 1 s.
    cfg = with_slo(committed, ttftMsP95=1000, tpotMsP95=50)
    name = cfg.workload.name
    buckets = {"0.5": 0, "1": 0, "2.5": 60, "+Inf": 60} if slow else {"0.5": 0, "1": 60, "2.5": 60, "+Inf": 60}
    _unit_test(cfg, tmp_path, "VllmTtftP95OverSlo", _bucket_series(m.TTFT_BUCKET, name, buckets), fires=slow)


@pytest.mark.parametrize("slow", [True, False], ids=["over-slo-fires", "under-slo-silent"])
def test_tpot_alert_fires_only_over_the_slo(committed: DeploymentConfig, tmp_path: Path, slow: bool) -> None:
    # SLO 50 ms. Slow: inter-token gaps in (50, 75] ms; fast: in (25, 50] ms.
    cfg = with_slo(committed, ttftMsP95=1000, tpotMsP95=50)
    name = cfg.workload.name
    buckets = ({"0.025": 0, "0.05": 0, "0.075": 600, "+Inf": 600} if slow
               else {"0.025": 0, "0.05": 600, "0.075": 600, "+Inf": 600})
    _unit_test(cfg, tmp_path, "VllmTpotP95OverSlo", _bucket_series(m.TPOT_BUCKET, name, buckets), fires=slow)


@pytest.mark.parametrize("failing", [3, 0], ids=["3-percent-fires", "none-silent"])
def test_error_alert_fires_over_one_percent(committed: DeploymentConfig, tmp_path: Path, failing: int) -> None:
    ns = committed.workload.name
    http = f'{m.HTTP_REQUESTS}{{namespace="{ns}",handler="/v1/chat/completions",method="POST"'
    series = [{"series": f'{http},status="2xx"}}', "values": f"0+{100 - failing}x40"},
              {"series": f'{http},status="5xx"}}', "values": f"0+{failing}x40"}]
    _unit_test(committed, tmp_path, "VllmRequestErrors", series, fires=failing > 0)
