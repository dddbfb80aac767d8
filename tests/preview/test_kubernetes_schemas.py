"""Every Kubernetes object a preview holds validates against the Kubernetes API schemas.

The schemas come from the maintained `kubernetes-validate` package (strict mode: unknown fields are
errors, which catches snake_case keys that never reach the API). It runs over servestack's own
program for every stack file once the repository has them, and always over the test fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from servestack.preview import SECRET_PLACEHOLDER, run_preview
from servestack.preview.project import list_stacks, load_project

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "aws_small"
# Custom resources (KEDA ScaledObject, LeaderWorkerSet) have no schema in the core API set.
CORE_GROUPS = ("kubernetes:core/", "kubernetes:apps/", "kubernetes:policy/", "kubernetes:batch/",
               "kubernetes:rbac.authorization.k8s.io/", "kubernetes:networking.k8s.io/",
               "kubernetes:autoscaling/", "kubernetes:storage.k8s.io/", "kubernetes:scheduling.k8s.io/")


def _cases() -> list[Any]:
    cases = [pytest.param(FIXTURE, s, id=f"fixture-{s}") for s in ("dev", "staging")]
    if (REPO / "Pulumi.yaml").is_file():
        project = load_project(REPO)
        cases += [pytest.param(REPO, s, id=f"servestack-{s}") for s in list_stacks(project)]
    return cases


def _without_secrets(value: Any) -> Any:
    """A secret's shape is unknown offline (never decrypted), so masked fields are left out of validation."""
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if v != SECRET_PLACEHOLDER}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


@pytest.mark.parametrize(("project_dir", "stack"), _cases())
def test_kubernetes_objects_match_api_schemas(project_dir: Path, stack: str) -> None:
    result = run_preview(project_dir, stack)
    version = kubernetes_validate.latest_version()
    checked = 0
    for res in result.resources:
        if not res.type.startswith(CORE_GROUPS):
            continue
        manifest = _without_secrets(res.inputs)
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{res.urn}: {exc.message} at {'/'.join(str(p) for p in exc.path)}")
        checked += 1
    assert checked > 0, "no Kubernetes object in the preview"
