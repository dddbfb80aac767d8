"""The generated GitHub workflows are valid: the workflow JSON schema (SchemaStore's, vendored by
check-jsonschema) and `bash -n` on every `run:` script."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ("servestack-check.yml", "servestack-policy-preview.yml")


def _schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema") / "builtin_schemas" / "vendor" / "github-workflows.json"
    return dict(json.loads(vendor.read_text("utf-8")))


def _errors(workflow: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema())
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(workflow))


def _load(path: Path) -> Any:
    # YAML 1.2 as GitHub reads it: `on:` stays the key "on".
    return YAML(typ="safe").load(path.read_text())


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from servestack.cli import main

    directory = tmp_path_factory.mktemp("wf") / "p"
    assert main(["new", str(directory), "--workload", str(ROOT / "examples/chat-70b.yaml"), "--workload",
                 str(ROOT / "examples/summarize-8b.yaml"), "--api-private"]) == 0
    return directory


@pytest.mark.parametrize("name", WORKFLOWS)
def test_generated_workflow_matches_the_schema(project: Path, name: str) -> None:
    assert _errors(_load(project / ".github/workflows" / name)) == []


def test_the_schema_check_catches_a_broken_workflow(project: Path) -> None:
    workflow = _load(project / ".github/workflows/servestack-check.yml")
    del workflow["jobs"]["check"]["runs-on"]
    assert _errors(workflow) != []


def test_the_preview_matrix_lists_every_stack(project: Path) -> None:
    workflow = _load(project / ".github/workflows/servestack-policy-preview.yml")
    stacks = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (project / "stacks").iterdir())
    assert sorted(workflow["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == stacks


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_run_script_parses_in_bash(project: Path, name: str) -> None:
    workflow = _load(project / ".github/workflows" / name)
    scripts = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    assert scripts
    for script in scripts:
        # GitHub substitutes ${{ ... }} before bash sees the script.
        text = re.sub(r"\$\{\{.*?\}\}", "x", script)
        done = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True, check=False)
        assert done.returncode == 0, (done.stderr, script)
