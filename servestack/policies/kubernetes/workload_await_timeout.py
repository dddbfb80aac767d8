"""SSG034 kubernetes-gpu-workload-await-timeout: Pulumi waits for a GPU workload at least its cold start.

Pulumi's Kubernetes provider waits (10 minutes by default) for a Deployment or StatefulSet to become
ready (a LeaderWorkerSet, a custom resource, only when annotated `pulumi.com/waitFor`) and for a
Service to have ready endpoints (and a LoadBalancer its address), which means ready pods; a model server's
cold start (node launch, image pull, weights download and load) is stated by its startup probe:
`initialDelaySeconds + failureThreshold x periodSeconds` (Kubernetes defaults 0, 3, 10). When the wait
is shorter, `pulumi up` fails while the pods are still starting. The wait is the resource option
`customTimeouts.create` or the annotation `pulumi.com/timeoutSeconds` (the longer of the two), else
600 s; the annotation `pulumi.com/skipAwait: "true"` turns the wait off. A Service is judged against the
workloads it selects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from servestack.costing.resources import MISSING, UNKNOWN, Resource, contains_unknown, is_unknown, lookup
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation
from servestack.policies.kubernetes.exposure import SERVICE
from servestack.policies.kubernetes.gpu_pods import requests_gpu
from servestack.policies.kubernetes.workloads import (
    LEADER_WORKER_SET,
    SERVING_TYPES,
    containers_of,
    namespace,
    pod_templates,
)

__all__ = ["RULE", "DEFAULT_WAIT_S", "startup_budget"]

DEFAULT_WAIT_S = 600.0
"""The Kubernetes provider's default wait for a Deployment/StatefulSet/Service to become ready."""
TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
_PROBE_DEFAULTS = {"initialDelaySeconds": 0, "failureThreshold": 3, "periodSeconds": 10}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def startup_budget(workload: Resource) -> float | None | Any:
    """Longest startup-probe budget of the GPU pods in seconds; None when none states one; UNKNOWN if unknown."""
    budget: float | None = None
    gpu = False
    for template in pod_templates(workload):
        containers = lookup(template.template, "spec", "containers")
        if is_unknown(containers) or (isinstance(containers, list) and any(is_unknown(c) for c in containers)):
            return UNKNOWN
        for c in containers_of(template):
            needs = requests_gpu(c)
            if needs is None:
                return UNKNOWN
            gpu = gpu or needs
            probe = lookup(c, "startupProbe")
            if probe is MISSING or probe is None:
                continue
            values = {k: lookup(probe, k) for k in _PROBE_DEFAULTS}
            if any(is_unknown(v) for v in values.values()):
                return UNKNOWN
            numbers = {k: (_number(v) if v is not MISSING else float(d))
                       for (k, v), d in zip(values.items(), _PROBE_DEFAULTS.values(), strict=True)}
            if any(n is None for n in numbers.values()):
                continue
            seconds = (numbers["initialDelaySeconds"] or 0.0) + (numbers["failureThreshold"] or 0.0) * (
                numbers["periodSeconds"] or 0.0)
            budget = seconds if budget is None else max(budget, seconds)
    return budget if gpu else None


def _wait(r: Resource, ctx: RuleContext) -> tuple[float, str] | None | Any:
    """(seconds, where it comes from); None when the wait is skipped; UNKNOWN when annotations are unknown."""
    annotations = r.get("metadata", "annotations")
    if contains_unknown(annotations):
        return UNKNOWN
    notes: Mapping[str, Any] = annotations if isinstance(annotations, dict) else {}
    if str(notes.get(SKIP_AWAIT_ANNOTATION, "")).strip().lower() == "true":
        return None
    # Either setting may cover the budget: the longer one is the wait that counts.
    waits: list[tuple[float, str]] = []
    create = ctx.options_of(r.urn).create_timeout_s
    if create is not None:
        waits.append((create, "customTimeouts.create"))
    annotated = _number(notes.get(TIMEOUT_ANNOTATION))
    if annotated is not None and annotated > 0:
        waits.append((annotated, f"annotation {TIMEOUT_ANNOTATION}"))
    return max(waits, key=lambda w: w[0]) if waits else (DEFAULT_WAIT_S, "the provider's default")


def _awaited(workload: Resource) -> bool | None:
    """Whether Pulumi waits for the workload: always for Deployments and StatefulSets; for a custom resource
    (LeaderWorkerSet) only when `pulumi.com/waitFor` asks it to."""
    if workload.type != LEADER_WORKER_SET:
        return True
    annotations = workload.get("metadata", "annotations")
    if contains_unknown(annotations):
        return None
    return isinstance(annotations, dict) and WAIT_FOR_ANNOTATION in annotations


def _selects(service: Resource, workload: Resource) -> bool | None:
    selector = service.get("spec", "selector")
    if contains_unknown(selector) or is_unknown(namespace(service)) or is_unknown(namespace(workload)):
        return None
    if not isinstance(selector, dict) or not selector or namespace(service) != namespace(workload):
        return False
    for template in pod_templates(workload):
        labels = template.labels
        if contains_unknown(labels):
            return None
        if isinstance(labels, dict) and all(labels.get(k) == v for k, v in selector.items()):
            return True
    return False


def _judge(r: Resource, what: str, budget: float, ctx: RuleContext) -> tuple[str, str | None] | str | None:
    """A violation message, a pending reason (str), or None when the wait covers the budget."""
    wait = _wait(r, ctx)
    if is_unknown(wait):
        return f"{r.name}: annotations unknown during preview"
    if wait is None:
        return None
    seconds, source = wait
    if seconds >= budget:
        return None
    return (f"{what} {r.name}: Pulumi waits {seconds:g} s ({source}) for it to become ready, less than its GPU "
            f"pods' startup budget of {budget:g} s (startupProbe initialDelaySeconds + failureThreshold x "
            f"periodSeconds); set customTimeouts create to at least {budget:g} s, or the annotation "
            f"{TIMEOUT_ANNOTATION}, or {SKIP_AWAIT_ANNOTATION}: \"true\"", r.urn)


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    messages: list[tuple[str, str | None]] = []
    pending: list[str] = []
    budgets: list[tuple[Resource, float]] = []
    for workload in (r for r in resources if r.type in SERVING_TYPES):
        budget = startup_budget(workload)
        if is_unknown(budget):
            pending.append(f"{workload.name}: pod template unknown during preview")
            continue
        if budget is None:
            continue
        budgets.append((workload, budget))
        awaited = _awaited(workload)
        if awaited is None:
            pending.append(f"{workload.name}: annotations unknown during preview")
            continue
        if not awaited:
            continue  # a Service in front of its pods is still judged below
        verdict = _judge(workload, workload.type.rsplit(":", 1)[-1], budget, ctx)
        if isinstance(verdict, tuple):
            messages.append(verdict)
        elif isinstance(verdict, str):
            pending.append(verdict)
    for service in (r for r in resources if r.type == SERVICE):
        kind = service.get("spec", "type")
        if is_unknown(kind):
            pending.append(f"{service.name}: spec.type unknown during preview")
            continue
        if kind == "ExternalName":
            continue  # no pods behind it, nothing to wait for
        shown_kind = kind if isinstance(kind, str) else "ClusterIP"
        selected: list[float] = []
        for workload, budget in budgets:
            match = _selects(service, workload)
            if match is None:
                pending.append(f"{service.name}: selector or pod labels unknown during preview")
            elif match:
                selected.append(budget)
        if selected:
            verdict = _judge(service, f"{shown_kind} Service", max(selected), ctx)
            if isinstance(verdict, tuple):
                messages.append(verdict)
            elif isinstance(verdict, str):
                pending.append(verdict)
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if not budgets:
        return not_applicable("no GPU workload states a startup budget (startupProbe)")
    return passed()


RULE = StackRule(
    id="SSG034",
    name="kubernetes-gpu-workload-await-timeout",
    description="Pulumi waits for GPU workloads and the Services in front of them at least their startup budget.",
    config_schema={},
    defaults={},
    check=check,
)
