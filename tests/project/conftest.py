"""Generating projects for the tests: `servestack new` through the CLI, as a platform team runs it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from servestack.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# Flags every generated project gets, so `pulumi up` would not stop on an open choice.
CHOICES = ("--api-cidr", "203.0.113.0/24", "--hf-token-secret", "servestack/hf-token", "--gcp-project", "proj-e2e",
           "--commitment-purchased", "--shared-owner", "ml-platform/cc-1000")

NewProject = Callable[..., int]


@pytest.fixture
def new_project() -> NewProject:
    """`servestack new DIR --workload W ... [extra flags]`; returns the exit code."""

    def run(directory: Path, workloads: Sequence[Path], *extra: str, choices: bool = True) -> int:
        argv = ["new", str(directory), "--name", "platform"]
        for w in workloads:
            argv += ["--workload", str(w)]
        argv += list(extra)
        if choices:
            argv += list(CHOICES)
        return main(argv)

    return run


@pytest.fixture
def project_files() -> Callable[[Path], dict[str, bytes]]:
    """Every file of a project, by path relative to it."""

    def read(directory: Path) -> dict[str, bytes]:
        return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}

    return read
