"""The GCP half of the quota preflight: reads GPU quotas through the Cloud Quotas invoke.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp

from servestack.components.quotas import CapacityGroup, QuotaNeed, gcp_quota_needs, judge, require


def gpu_quota(project: str, need: QuotaNeed) -> float | None:
    """The granted value of a compute GPU quota for the need's region (and gpu_family), or None when it
    cannot be read (offline engine, Cloud Quotas API disabled, no permission)."""
    try:
        info = gcp.cloudquota.get_s_quota_info(
            parent=f"projects/{project}", service="compute.googleapis.com", quota_id=need.quota_id
        )
    except Exception as exc:  # noqa: BLE001 - any lookup failure means "not checked", never a failed deploy
        pulumi.log.warn(f"quota preflight: could not read {need.quota_id} of project {project}: {exc}")
        return None
    return granted_value(getattr(info, "dimensions_infos", None) or [], need)


def granted_value(infos: Sequence[Any], need: QuotaNeed) -> float | None:
    """The value of the most specific dimensions entry that matches the need (entries come most specific
    first); None when none matches."""
    for entry in infos:
        dims = dict(_field(entry, "dimensions") or {})
        if need.dimension and dims.get("gpu_family", need.dimension) != need.dimension:
            continue
        if need.region != "global" and dims.get("region", need.region) != need.region:
            continue
        for detail in _field(entry, "details") or []:
            value = _field(detail, "value")
            try:
                return float(value)
            except (TypeError, ValueError):
                continue
    return None


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def preflight(
    project: str, accelerator_type: str, gpus_per_node: int, region: str, groups: Sequence[CapacityGroup]
) -> None:
    """Fail with QuotaError, before any resource exists, when the project's GPU quota cannot hold the peak."""
    check_needs(project, gcp_quota_needs(accelerator_type, gpus_per_node, region, groups))


def check_needs(project: str, needs: Sequence[QuotaNeed]) -> None:
    """Fail with QuotaError when a granted GPU quota is below a need (the summed needs of every pool)."""
    for note in require([judge(n, gpu_quota(project, n)) for n in needs]):
        pulumi.log.info(f"quota preflight: {note}")
