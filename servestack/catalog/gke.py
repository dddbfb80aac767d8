"""How GKE names accelerators: the one table the GKE node pool component and preflight both read (Pulumi-free).

GKE accelerator types from Google Cloud's "GPU platforms" and GKE "About GPUs" pages (as of 2026-11). A3 Mega
machines carry the mega variant of the H100.
"""

from __future__ import annotations

__all__ = ["GKE_ACCELERATOR_TYPES", "gke_accelerator_type"]

GKE_ACCELERATOR_TYPES: dict[str, str] = {
    "T4": "nvidia-tesla-t4",
    "V100": "nvidia-tesla-v100",
    "L4": "nvidia-l4",
    "A100-40GB": "nvidia-tesla-a100",
    "A100-80GB": "nvidia-a100-80gb",
    "H100": "nvidia-h100-80gb",
    "H200": "nvidia-h200-141gb",
    "B200": "nvidia-b200",
}


def gke_accelerator_type(accelerator: str, machine_type: str) -> str:
    """The GKE accelerator type of a canonical accelerator id on `machine_type`; ValueError naming the allowed ids."""
    if accelerator == "H100" and machine_type.startswith("a3-megagpu"):
        return "nvidia-h100-mega-80gb"
    try:
        return GKE_ACCELERATOR_TYPES[accelerator]
    except KeyError:
        raise ValueError(
            f"accelerator={accelerator!r} is not valid on GKE; allowed: {', '.join(GKE_ACCELERATOR_TYPES)}"
        ) from None
