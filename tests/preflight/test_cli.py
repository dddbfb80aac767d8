"""`servestack preflight` as a user runs it: a separate process, boto3 pointed at the moto server by
AWS_ENDPOINT_URL alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .conftest import ROOT


def preflight(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preflight", "-C", str(project), *args],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def test_json_document_and_exit_1_for_a_zone_without_the_type(aws_env: str, make_project: Callable[..., Path]) -> None:
    proc = preflight(make_project(zoneNames=["use1-az1", "use1-az5"]), "-s", "test", "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["stack"] == "test" and doc["ok"] is False
    assert all(set(c) == {"check", "status", "detail", "fix"} for c in doc["checks"])
    statuses = {c["check"]: c["status"] for c in doc["checks"]}
    assert statuses["aws p4d.24xlarge offered in use1-az1"] == "pass"
    assert statuses["aws p4d.24xlarge offered in use1-az5"] == "fail"
    # moto has no EC2 GPU quota codes: the quota check could not be made, and says so.
    assert statuses["aws quota L-417A185B (Running On-Demand P instances) in us-east-1"] == "unknown"


def test_exit_0_and_a_table_when_nothing_fails(aws_env: str, make_project: Callable[..., Path]) -> None:
    proc = preflight(make_project(), "-s", "test")
    assert proc.returncode == 0, proc.stderr
    assert "offered in use1-az2" in proc.stdout and "unknown" in proc.stdout and "fix: grant" in proc.stdout


def test_bad_input_and_missing_credentials_exit_2(aws_env: str, make_project: Callable[..., Path]) -> None:
    project = make_project()
    proc = preflight(project, "-s", "staging")
    assert proc.returncode == 2 and "'staging' has no stack file" in proc.stderr and "Traceback" not in proc.stderr
    no_keys = {k: v for k, v in os.environ.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preflight", "-C", str(project), "-s", "test"],
        capture_output=True, text=True, check=False, env={**no_keys, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and "no AWS credentials" in proc.stderr and "Traceback" not in proc.stderr
