"""SSG010 kubernetes-image-pinned-tag: containers name an explicit, non-`latest` tag or a digest."""

from __future__ import annotations

from servestack.costing.resources import Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import WORKLOAD_TYPES, pod_templates

__all__ = ["RULE", "image_problem"]


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned, None when it is (a digest, or a tag other than latest)."""
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag (it means latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the mutable latest tag"
    return None


def check(r: Resource, ctx: RuleContext) -> Outcome:
    messages: list[str] = []
    pending = False
    for template in pod_templates(r):
        spec = lookup(template.template, "spec")
        if contains_unknown(spec) and not isinstance(spec, dict):
            pending = True
            continue
        for kind in ("initContainers", "containers"):
            containers = lookup(spec, kind)
            if is_unknown(containers):
                pending = True
                continue
            for c in containers if isinstance(containers, list) else []:
                image = lookup(c, "image")
                if is_unknown(image):
                    pending = True
                    continue
                if not isinstance(image, str):
                    continue
                problem = image_problem(image)
                if problem:
                    name = lookup(c, "name")
                    messages.append(f"{template.role} container {name if isinstance(name, str) else '?'}: "
                                    f"image {image} {problem}; pin a version tag or digest")
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("container images unknown during preview")
    return passed()


RULE = ResourceRule(
    id="SSG010",
    name="kubernetes-image-pinned-tag",
    description="Workload containers use a pinned image (a version tag other than latest, or a digest).",
    config_schema={},
    defaults={},
    resource_types=WORKLOAD_TYPES,
    check=check,
)
