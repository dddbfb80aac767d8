"""Checks and constants shared by the cloud component modules (no provider import)."""

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "PRICING_MODES",
    "REQUIRED_TAGS",
    "GPU_TAINT_KEY",
    "GPU_LABEL",
    "ACCELERATOR_LABEL",
    "PRICING_LABEL",
    "POOL_LABEL",
    "check_pool_label",
    "API_ACCESS_MODES",
    "check_api_access",
    "check_choice",
    "check_positive",
    "check_scaling",
    "check_tags",
    "check_zones",
    "mirrored_image",
    "node_wait_minutes",
]

PRICING_MODES = ("on_demand", "spot", "1y", "3y")
REQUIRED_TAGS = ("environment", "managed-by")
"""Every servestack resource says which environment it belongs to and who manages it; `team` and `cost-center`
come from the spec's optional `owner` block (the advisory cost-allocation-tags policy asks for them)."""
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_LABEL = "servestack.io/gpu"
"""Node label every GPU node group/pool carries; workloads select on it."""
ACCELERATOR_LABEL = "servestack.io/accelerator"
POOL_LABEL = "servestack.io/pool"
"""Node label naming the node's pool: `system` for the system nodes, the pool name for a fleet's GPU nodes (each
model server selects its own pool's nodes by it)."""
PRICING_LABEL = "servestack-pricing"
"""Tag/label naming the pricing mode (on_demand|spot|1y|3y) so costing can apply committed prices."""


def check_choice(component: str, field: str, value: object, allowed: Iterable[str]) -> str:
    choices = tuple(allowed)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{component}: {field}={value!r} is not valid; allowed: {', '.join(choices)}")
    return value


def check_pool_label(component: str, value: object) -> str:
    """A pool name usable as the POOL_LABEL value: a DNS-1123 label other than the system pool's."""
    if not isinstance(value, str) or not re.match(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", value) or value == "system":
        raise ValueError(
            f"{component}: pool={value!r} is not valid; allowed: a DNS-1123 label other than 'system' (the system "
            "nodes' pool)"
        )
    return value


def check_positive(component: str, field: str, value: object, *, minimum: int = 1) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{component}: {field}={value!r} is not valid; allowed: a whole number >= {minimum}")
    return value


API_ACCESS_MODES = ("private", "cidrs")
"""How the cluster API endpoint is reached: private only, or public limited to listed CIDRs (private kept)."""


def check_api_access(component: str, mode: object, cidrs: object) -> tuple[str, list[str]]:
    """An explicit endpoint choice: "private" with no CIDRs, or "cidrs" with at least one CIDR that is not
    the whole internet."""
    chosen = check_choice(component, "api_access", mode, API_ACCESS_MODES)
    if cidrs is None:
        cidrs = []
    if not isinstance(cidrs, list | tuple) or not all(isinstance(c, str) and "/" in c for c in cidrs):
        raise ValueError(f"{component}: api_cidrs={cidrs!r} is not valid; allowed: a list of CIDRs like 203.0.113.0/24")
    allowed = [str(c) for c in cidrs]
    open_to_all = [c for c in allowed if c in ("0.0.0.0/0", "::/0")]
    if open_to_all:
        raise ValueError(
            f"{component}: api_cidrs must not contain {open_to_all[0]}; allowed: the CIDRs `pulumi up` and your "
            "operators connect from"
        )
    if chosen == "cidrs" and not allowed:
        raise ValueError(f"{component}: api_access='cidrs' needs at least one entry in api_cidrs")
    if chosen == "private" and allowed:
        raise ValueError(
            f"{component}: api_access='private' takes no api_cidrs (got {allowed}); allowed: api_access='cidrs'"
        )
    return chosen, allowed


def check_zones(component: str, zone_count: object, max_zones: int, zone_names: object) -> tuple[int, list[str] | None]:
    """A zone count within what the cloud's regions offer, and, when given, exactly that many distinct zone names."""
    zones = check_positive(component, "zone_count", zone_count)
    if zones > max_zones:
        raise ValueError(f"{component}: zone_count={zones} is not valid; allowed: 1-{max_zones}")
    if zone_names is None:
        return zones, None
    if not isinstance(zone_names, list | tuple) or not all(isinstance(z, str) and z for z in zone_names):
        raise ValueError(f"{component}: zone_names={zone_names!r} is not valid; allowed: a list of zone names")
    names = [str(z) for z in zone_names]
    if len(names) != zones or len(set(names)) != len(names):
        raise ValueError(
            f"{component}: zone_names={names} is not valid; allowed: {zones} distinct zones (zone_count={zones})"
        )
    return zones, names


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


def mirrored_image(mirror: str, image: str) -> str:
    """The reference of a Docker Hub image through a pull-through cache prefix (`vllm/vllm-openai:v0.9.2` ->
    `<mirror>/vllm/vllm-openai:v0.9.2`; official images gain `library/`); the image itself when there is no
    mirror or it does not come from Docker Hub."""
    if not mirror:
        return image
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if first not in ("docker.io", "registry-1.docker.io", "index.docker.io"):
            return image
        image = rest
    if "/" not in image:
        image = f"library/{image}"
    return f"{mirror}/{image}"


def node_wait_minutes(provider_default_min: int, node_launch_s: int | None) -> int:
    """How long creating or resizing a node group may take, minutes: twice the time to launch and join one
    node (nodes launch in parallel; capacity retries take the rest), never below the provider's default."""
    if node_launch_s is None:
        return provider_default_min
    return max(provider_default_min, -(-2 * node_launch_s // 60))
