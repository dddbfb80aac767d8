"""Which accelerator a pod template's node selection names, and whether that part computes in fp8.

Read from `nodeSelector` and required node affinity (`In` expressions) on the labels clusters put on
GPU nodes: servestack's own `servestack.io/accelerator`, NVIDIA GPU feature discovery's
`nvidia.com/gpu.product`, GKE's `cloud.google.com/gke-accelerator`, EKS's `k8s.amazonaws.com/accelerator`,
and the instance type (`node.kubernetes.io/instance-type`) looked up in the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from servestack.catalog import load_catalog
from servestack.costing.resources import UNKNOWN, contains_unknown, is_unknown, lookup
from servestack.errors import SpecError
from servestack.policies.kubernetes.workloads import PodTemplate

__all__ = ["ACCELERATOR_LABELS", "NodeAccelerator", "selected_accelerators"]

SERVESTACK_LABEL = "servestack.io/accelerator"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GKE_LABEL = "cloud.google.com/gke-accelerator"
EKS_LABEL = "k8s.amazonaws.com/accelerator"
INSTANCE_TYPE_LABELS = ("node.kubernetes.io/instance-type", "beta.kubernetes.io/instance-type")
ACCELERATOR_LABELS = (SERVESTACK_LABEL, GPU_PRODUCT_LABEL, GKE_LABEL, EKS_LABEL, *INSTANCE_TYPE_LABELS)

# Parts the catalog does not carry, by family (the name's first segment once vendor prefixes are gone).
# fp8 tensor cores arrived with Ada (SM 8.9) and Hopper (SM 9.0).
_FAMILY_FP8 = {
    "v100": False, "p100": False, "p4": False, "k80": False, "a30": False, "a40": False, "a10": False,
    "a2": False, "a16": False, "l40": True, "h20": True, "h800": True, "gb200": True, "b100": True,
}


@dataclass(frozen=True, slots=True)
class NodeAccelerator:
    label: str
    value: str
    accelerator: str | None
    """Canonical catalog id, the family name for a part outside the catalog, None when not recognised."""
    fp8: bool | None
    """Whether the part computes in fp8; None when not recognised."""


def _strip_vendor(name: str) -> str:
    name = name.strip().lower().replace("_", "-").replace(" ", "-")
    for prefix in ("nvidia-", "tesla-"):
        while name.startswith(prefix):
            name = name[len(prefix):]
    return name


def _resolve(label: str, value: str) -> tuple[str | None, bool | None]:
    catalog = load_catalog()
    canonical: str | None = None
    if label in INSTANCE_TYPE_LABELS:
        for cloud in ("aws", "gcp"):
            facts = catalog.instance_facts(cloud, value)
            if facts is not None:
                canonical = facts.accelerator
                break
        else:
            return None, None
    elif label == GKE_LABEL:
        canonical = catalog.accelerator_for_gcp_type(value)
    if canonical is None and label not in INSTANCE_TYPE_LABELS:
        # Try the name, then shorter prefixes: NVIDIA-H100-80GB-HBM3 -> h100-80gb-hbm3 -> h100-80gb.
        parts = _strip_vendor(value).split("-")
        for end in range(len(parts), 0, -1):
            try:
                canonical = catalog.resolve_accelerator("-".join(parts[:end]))
                break
            except SpecError:
                continue
        if canonical is None:
            family = parts[0]
            fp8 = _FAMILY_FP8.get(family)
            return (family.upper(), fp8) if fp8 is not None else (None, None)
    if canonical is None:
        return None, None
    part = catalog.accelerators.get(canonical)
    return canonical, (part.fp8_tflops is not None) if part is not None else None


def _affinity_values(spec: Any) -> dict[str, list[Any]] | Any:
    terms = lookup(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                   "nodeSelectorTerms")
    if contains_unknown(terms):
        return UNKNOWN
    found: dict[str, list[Any]] = {}
    for term in terms if isinstance(terms, list) else []:
        expressions = lookup(term, "matchExpressions")
        for e in expressions if isinstance(expressions, list) else []:
            key = lookup(e, "key")
            values = lookup(e, "values")
            if key in ACCELERATOR_LABELS and lookup(e, "operator") == "In" and isinstance(values, list):
                found.setdefault(key, []).extend(values)
    return found


def selected_accelerators(template: PodTemplate) -> list[NodeAccelerator] | Any:
    """The accelerators a template's pods may land on (empty: nothing names one); UNKNOWN during a preview.

    A nodeSelector that names the accelerator decides; otherwise every value a required affinity allows.
    """
    spec = template.spec
    selector = lookup(spec, "nodeSelector")
    if contains_unknown(selector):
        return UNKNOWN
    named: dict[str, list[Any]] = {}
    if isinstance(selector, dict):
        named = {k: [v] for k, v in selector.items() if k in ACCELERATOR_LABELS}
    if not named:
        affinity = _affinity_values(spec)
        if is_unknown(affinity):
            return UNKNOWN
        named = affinity
    out: list[NodeAccelerator] = []
    for label, values in named.items():
        for value in values:
            if isinstance(value, str):
                accelerator, fp8 = _resolve(label, value)
                out.append(NodeAccelerator(label, value, accelerator, fp8))
    return out

