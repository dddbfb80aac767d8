"""`servestack check` and `servestack cost diff` on a two-workload stack (two real plans in one cluster): each
workload's share of the bill, with its owner, in the human output and in `--json`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from servestack.cli import main
from tests.components.fleet_stacks import AWS_PAIR, PlannedServer, fleet_stack, plan_pair, write_project


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PlannedServer]]:
    servers = plan_pair(AWS_PAIR)
    return write_project(tmp_path_factory.mktemp("showback"), "fleet", fleet_stack(servers)), servers


def _check_json(project: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    main(["check", "-C", str(project), "-s", "fleet", "--json"])
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_check_json_carries_each_workloads_share_and_owner(fleet: Any, capsys: pytest.CaptureFixture[str]) -> None:
    project, servers = fleet
    doc = _check_json(project, capsys)
    show = doc["showback"]
    assert set(show["workloads"]) == {s.spec.name for s in servers}
    for server in servers:
        share = show["workloads"][server.spec.name]
        owner = server.spec.owner
        assert (share["team"], share["cost_center"]) == ((owner.team, owner.cost_center) if owner else (None, None))
        assert share["gpu_usd"]["expected"] > 0
        for kind in ("expected", "ceiling"):
            assert share["total_usd"][kind] == pytest.approx(
                share["direct_usd"][kind] + share["shared_usd"][kind], abs=0.02)
    # The shares add up to the stack's bill, and the shared cost is split by GPU cost.
    for kind in ("expected", "ceiling"):
        total = sum(w["total_usd"][kind] for w in show["workloads"].values())
        assert total == pytest.approx(doc["monthly_usd"][kind], abs=0.05)
        shared = sum(w["shared_usd"][kind] for w in show["workloads"].values())
        assert shared == pytest.approx(show["shared_usd"][kind], abs=0.05)
    a, b = show["workloads"].values()
    assert a["shared_usd"]["expected"] / b["shared_usd"]["expected"] == pytest.approx(
        a["gpu_usd"]["expected"] / b["gpu_usd"]["expected"], rel=1e-3)


def test_check_prints_the_showback_table(fleet: Any, capsys: pytest.CaptureFixture[str]) -> None:
    project, servers = fleet
    doc = _check_json(project, capsys)
    main(["check", "-C", str(project), "-s", "fleet"])
    out = capsys.readouterr().out
    assert "Showback" in out and "shared cluster:" in out
    for server in servers:
        name = server.spec.name
        total = doc["showback"]["workloads"][name]["total_usd"]["expected"]
        section = out.split("Showback", 1)[1]
        row = next(line for line in section.splitlines() if name in line)
        assert f"${total:,.2f}" in row, row


def test_cost_diff_json_and_table_show_the_showback_after(fleet: Any, capsys: pytest.CaptureFixture[str]) -> None:
    project, servers = fleet

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    if not (project / ".git").exists():
        git("init", "-q")
        # The base holds the program but not the stack: the whole fleet is new.
        git("add", "Pulumi.yaml", "__main__.py")
        git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "program")
    assert main(["cost", "diff", "--base", "HEAD", "-C", str(project), "-s", "fleet", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    (env,) = doc["environments"]
    assert env["before"] is None
    assert set(env["after"]["showback"]["workloads"]) == {s.spec.name for s in servers}
    assert main(["cost", "diff", "--base", "HEAD", "-C", str(project), "-s", "fleet"]) == 0
    out = capsys.readouterr().out
    assert "fleet: showback after" in out and all(s.spec.name in out for s in servers)


def test_a_one_workload_stack_prints_no_showback_table(capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    main(["check", "-C", str(root), "-s", "dev", "--json"])
    doc = json.loads(capsys.readouterr().out)
    # One workload owns the whole bill: its share is the total, and the human output does not repeat it.
    (share,) = doc["showback"]["workloads"].values()
    assert share["total_usd"]["expected"] == pytest.approx(doc["monthly_usd"]["expected"], abs=0.02)


def test_architecture_names_every_showback_field(fleet: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import re

    project, _ = fleet
    show = _check_json(project, capsys)["showback"]
    root = Path(__file__).resolve().parents[2]
    contracts = (root / "docs" / "architecture.md").read_text(encoding="utf-8").split("## Contracts", 1)[1]
    named = set(re.findall(r"`([a-z_0-9]+)[`:]", contracts))
    fields = {"showback", *show, *next(iter(show["workloads"].values()))}
    assert fields <= named, sorted(fields - named)
