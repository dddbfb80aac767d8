"""Checks and constants shared by the cloud component modules (no provider import)."""

from collections.abc import Iterable, Mapping

__all__ = [
    "PRICING_MODES",
    "REQUIRED_TAGS",
    "GPU_TAINT_KEY",
    "GPU_LABEL",
    "ACCELERATOR_LABEL",
    "PRICING_LABEL",
    "check_choice",
    "check_positive",
    "check_scaling",
    "check_tags",
]

PRICING_MODES = ("on_demand", "spot", "1y", "3y")
REQUIRED_TAGS = ("environment", "managed-by")
"""Every servestack resource says which environment it belongs to and who manages it; `team` and `cost-center`
come from the spec's optional `owner` block (the advisory cost-allocation-tags policy asks for them)."""
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_LABEL = "servestack.io/gpu"
"""Node label every GPU node group/pool carries; workloads select on it."""
ACCELERATOR_LABEL = "servestack.io/accelerator"
PRICING_LABEL = "servestack-pricing"
"""Tag/label naming the pricing mode (on_demand|spot|1y|3y) so costing can apply committed prices."""


def check_choice(component: str, field: str, value: object, allowed: Iterable[str]) -> str:
    choices = tuple(allowed)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{component}: {field}={value!r} is not valid; allowed: {', '.join(choices)}")
    return value


def check_positive(component: str, field: str, value: object, *, minimum: int = 1) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{component}: {field}={value!r} is not valid; allowed: a whole number >= {minimum}")
    return value


def check_cluster_network(
    component: str, zone_count: object, max_zones: int, cidrs: list[str] | None
) -> tuple[int, list[str]]:
    """A zone count within what the cloud's regions offer, and public-endpoint CIDRs that are not the world."""
    zones = check_positive(component, "zone_count", zone_count)
    if zones > max_zones:
        raise ValueError(f"{component}: zone_count={zones} is not valid; allowed: 1-{max_zones}")
    allowed = list(cidrs or [])
    if "0.0.0.0/0" in allowed:
        raise ValueError(f"{component}: public_endpoint_cidrs must not contain 0.0.0.0/0; allowed: specific CIDRs")
    return zones, allowed


def check_scaling(component: str, min_size: object, desired_size: object, max_size: object) -> tuple[int, int, int]:
    """min <= desired <= max, max >= 1; returns them as ints."""
    lo = check_positive(component, "min_size", min_size, minimum=0)
    want = check_positive(component, "desired_size", desired_size, minimum=0)
    hi = check_positive(component, "max_size", max_size, minimum=1)
    if not lo <= want <= hi:
        raise ValueError(
            f"{component}: min_size <= desired_size <= max_size must hold (got {lo}, {want}, {hi}); "
            "allowed: desired between the bounds"
        )
    return lo, want, hi


def check_tags(component: str, tags: object) -> dict[str, str]:
    """Cost tags must be a str->str mapping holding every key of REQUIRED_TAGS."""
    if not isinstance(tags, Mapping):
        raise ValueError(f"{component}: tags={tags!r} is not valid; allowed: a mapping with keys {REQUIRED_TAGS}")
    missing = [k for k in REQUIRED_TAGS if k not in tags]
    if missing:
        raise ValueError(
            f"{component}: tags lack {', '.join(missing)}; allowed: a mapping with keys {', '.join(REQUIRED_TAGS)}"
        )
    return {str(k): str(v) for k, v in tags.items()}
