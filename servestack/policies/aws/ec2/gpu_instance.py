"""Which EC2 instances the GPU instance rules judge: a GPU type in the catalog, or a GPU/accelerator family."""

from __future__ import annotations

import re

from servestack.catalog import load_catalog
from servestack.costing.resources import MISSING, Resource, is_unknown
from servestack.policies.aws.views import EC2_INSTANCE_VIEW
from servestack.policies.base import Outcome, not_applicable

__all__ = ["not_gpu_instance", "uses_launch_template"]

_ACCELERATED_FAMILY = re.compile(r"^(p\d|g\d|inf\d|trn\d|dl\d)")


def not_gpu_instance(r: Resource) -> Outcome | None:
    """Not applicable when the instance is not (or not yet known to be) a GPU instance."""
    found = EC2_INSTANCE_VIEW.read(r, "instance_type")
    if is_unknown(found.value):
        return not_applicable(f"{found.path} unknown during preview")
    if not isinstance(found.value, str):
        return not_applicable(f"{found.path} not set (taken from a launch template)")
    facts = load_catalog().instance_facts("aws", found.value)
    if (facts is not None and facts.accelerators_per_node > 0) or _ACCELERATED_FAMILY.match(found.value.lower()):
        return None
    return not_applicable(f"{found.value} is not a GPU instance type")


def uses_launch_template(r: Resource) -> bool:
    template = EC2_INSTANCE_VIEW.read(r, "launch_template").value
    return template is not MISSING and template is not None
