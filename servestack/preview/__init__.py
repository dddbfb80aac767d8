"""Offline preview: run a Pulumi Python program in its own process against an offline engine, collect its graph.

`run_preview` is imported lazily (it loads the Pulumi SDK); the records and project reader are not.
"""

from __future__ import annotations

from pathlib import Path

from servestack.preview.model import PreviewResource, PreviewResult, ProgramError, preview_json
from servestack.preview.project import SECRET_PLACEHOLDER, ProjectInfo, StackConfig, load_project, load_stack_config

__all__ = [
    "run_preview",
    "PreviewResource",
    "PreviewResult",
    "ProgramError",
    "preview_json",
    "SECRET_PLACEHOLDER",
    "ProjectInfo",
    "StackConfig",
    "load_project",
    "load_stack_config",
]


def run_preview(project_dir: Path, stack: str | None = None, *, timeout_s: float | None = None) -> PreviewResult:
    """Run the Pulumi Python program in `project_dir` for `stack` (default: the only stack) offline.

    See `servestack.preview.engine.run_preview`; `timeout_s` defaults to its `DEFAULT_TIMEOUT_S`.
    """
    from servestack.preview.engine import DEFAULT_TIMEOUT_S
    from servestack.preview.engine import run_preview as _run

    return _run(project_dir, stack, timeout_s=DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s)
