"""SSG031 kubernetes-fp8-kv-cache-supported: an fp8 KV cache runs only on parts with fp8 (SM 8.9 and later).

vLLM hands an fp8 KV cache on older parts (A100, A10G, T4, V100) to a kernel path that cannot run it and
the engine crash-loops; L4, L40S, H100, H200 and B200 compute in fp8. The part is read from the pod's
node selection (see `node_accelerators`); a pod that names no accelerator is not judged.
"""

from __future__ import annotations

from typing import Any

from servestack.costing.resources import Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, ResourceRule, RuleContext, not_applicable, passed, violation
from servestack.policies.kubernetes.node_accelerators import selected_accelerators
from servestack.policies.kubernetes.workloads import WORKLOAD_TYPES, containers_of, pod_templates

__all__ = ["RULE", "kv_cache_dtype"]

_FLAG = "--kv-cache-dtype"


def _tokens(container: Any) -> list[str] | None:
    """command + args split into words (a `sh -c "..."` string too); None when any is unknown."""
    words: list[str] = []
    for key in ("command", "args"):
        value = lookup(container, key)
        if contains_unknown(value):
            return None
        for item in value if isinstance(value, list) else []:
            if isinstance(item, str):
                words.extend(item.split())
    return words


def kv_cache_dtype(words: list[str]) -> str | None:
    """The value of the last --kv-cache-dtype (as vLLM's argument parser keeps the last one)."""
    found: str | None = None
    for i, word in enumerate(words):
        if word == _FLAG and i + 1 < len(words):
            found = words[i + 1]
        elif word.startswith(_FLAG + "="):
            found = word.split("=", 1)[1]
    return found


def check(r: Resource, ctx: RuleContext) -> Outcome:
    messages: list[str] = []
    pending: list[str] = []
    uses_fp8 = False
    for template in pod_templates(r):
        listed = lookup(template.template, "spec", "containers")
        if is_unknown(listed) or (isinstance(listed, list) and any(is_unknown(c) for c in listed)):
            pending.append(f"{template.role} template unknown during preview")
            continue
        fp8_containers: list[tuple[str, str]] = []
        for c in containers_of(template):
            words = _tokens(c)
            name = lookup(c, "name")
            if words is None:
                pending.append(f"container {name} command unknown during preview")
                continue
            dtype = kv_cache_dtype(words)
            if dtype is not None and dtype.lower().startswith("fp8"):
                fp8_containers.append((name if isinstance(name, str) else "?", dtype))
        if not fp8_containers:
            continue
        uses_fp8 = True
        parts = selected_accelerators(template)
        if is_unknown(parts):
            pending.append(f"{template.role} node selection unknown during preview")
            continue
        if not parts:
            pending.append(f"{template.role} template names no accelerator in its node selection")
            continue
        for part in parts:
            if part.fp8 is None:
                pending.append(f"{part.label}={part.value} is not a known accelerator")
            elif not part.fp8:
                for name, dtype in fp8_containers:
                    role = "" if template.role == "pod" else f"{template.role} "
                    messages.append(
                        f"{role}container {name} runs --kv-cache-dtype {dtype} on {part.label}={part.value} "
                        f"({part.accelerator}), which has no fp8 support (needs SM 8.9+: L4, L40S, H100, H200, "
                        "B200); use --kv-cache-dtype auto and size the KV cache at 16 bits")
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if not uses_fp8:
        return not_applicable("no fp8 KV cache")
    return passed()


RULE = ResourceRule(
    id="SSG031",
    name="kubernetes-fp8-kv-cache-supported",
    description="Pods that run an fp8 KV cache select only accelerators with fp8 support.",
    config_schema={},
    defaults={},
    resource_types=WORKLOAD_TYPES,
    check=check,
)
