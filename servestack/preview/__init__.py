"""Offline preview: run a Pulumi Python program under the SDK's mock engine and collect its resource graph.

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


def run_preview(project_dir: Path, stack: str | None = None) -> PreviewResult:
    """Run the Pulumi Python program in `project_dir` for `stack` (default: the only stack) offline.

    See `servestack.preview.engine.run_preview`.
    """
    from servestack.preview.engine import run_preview as _run

    return _run(project_dir, stack)
