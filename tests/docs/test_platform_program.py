"""examples/platform-program: a platform team's own program built from the components runs under the offline
engine and passes both policy packs with no violation at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "examples" / "platform-program"


def test_platform_program_passes_budget_and_guardrails(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "check", "-C", str(PROGRAM), "-s", "staging", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert result["passed"] and result["violations"] == [], result["violations"]
    assert {p["name"]: p["source"] for p in result["packs"]} == {
        "servestack-budget": "central", "servestack-guardrails": "central"
    }
    # Every GPU node group is priced, so the ceiling is a number the budget was compared with.
    assert result["monthly_usd"]["ceiling"] is not None and result["monthly_usd"]["ceiling"] <= result["budget_usd"]


def test_platform_program_builds_the_components_it_names(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preview", "-C", str(PROGRAM), "-s", "staging", "--json"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    components = sorted(r["type"] for r in doc["resources"] if r["type"].startswith("servestack:index:"))
    assert components == [
        "servestack:index:ContainerRegistry", "servestack:index:EksCluster",
        "servestack:index:GpuNodeGroup", "servestack:index:GpuNodeGroup",
    ]
    groups = {r["name"]: r["inputs"] for r in doc["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup"}
    assert groups["l4-burst-ng"]["capacityType"] == "SPOT"
    assert groups["l4-burst-ng"]["scalingConfig"]["maxSize"] == 6  # platform:gpuMaxNodes of the stack file
    assert groups["l4-base-ng"]["scalingConfig"] == {"desiredSize": 2, "maxSize": 2, "minSize": 2}
    cluster = next(r for r in doc["resources"] if r["type"] == "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert doc["outputs"]["kubeconfig"] == "[secret]"
