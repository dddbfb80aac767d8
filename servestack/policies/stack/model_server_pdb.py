"""SSG012 kubernetes-model-server-pdb: model servers with more than one replica have a PodDisruptionBudget.

The minimum replica count is the workload's `spec.replicas` (default 1), or the `minReplicaCount` /
`minReplicas` of a KEDA ScaledObject or HPA that targets it. A PDB covers the workload when it is in the
same namespace and its `selector.matchLabels` are all among the pod template's labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from servestack.costing.resources import MISSING, Resource, contains_unknown, is_unknown
from servestack.policies.base import Outcome, RuleContext, StackRule, not_applicable, passed, violation
from servestack.policies.kubernetes.workloads import (
    HPA_TYPES,
    LEADER_WORKER_SET,
    PDB,
    SCALED_OBJECT,
    SERVING_TYPES,
    is_model_server,
    metadata_name,
    namespace,
    pod_templates,
)

__all__ = ["RULE"]

_LWS_NAME_LABEL = "leaderworkerset.sigs.k8s.io/name"


def _kind(r: Resource) -> str:
    return r.type.rsplit(":", 1)[-1]


def _min_replicas(workload: Resource, scalers: Sequence[Resource]) -> Any:
    name = metadata_name(workload)
    for s in scalers:
        target = s.get("spec", "scaleTargetRef")
        if contains_unknown(target) or is_unknown(name):
            return target if contains_unknown(target) else name
        if not isinstance(target, Mapping) or target.get("name") != name or namespace(s) != namespace(workload):
            continue
        if target.get("kind", "Deployment") != _kind(workload):
            continue
        if s.type == SCALED_OBJECT:
            value = s.get("spec", "minReplicaCount")
            return 0 if value is MISSING else value  # KEDA's default
        value = s.get("spec", "minReplicas")
        return 1 if value is MISSING else value  # the HPA default
    replicas = workload.get("spec", "replicas")
    return 1 if replicas is MISSING else replicas


def _labels(workload: Resource) -> Any:
    templates = pod_templates(workload)
    labels = templates[0].labels if templates else MISSING
    if is_unknown(labels):
        return labels
    merged = dict(labels) if isinstance(labels, dict) else {}
    name = metadata_name(workload)
    if workload.type == LEADER_WORKER_SET and isinstance(name, str):
        merged[_LWS_NAME_LABEL] = name  # the LWS controller labels every pod with its set's name
    return merged


def _covers(pdb: Resource, workload: Resource, labels: dict[str, Any]) -> Any:
    selector = pdb.get("spec", "selector", "matchLabels")
    ns_pdb, ns_workload = namespace(pdb), namespace(workload)
    if contains_unknown(selector) or is_unknown(ns_pdb) or is_unknown(ns_workload):
        return None
    if not isinstance(selector, dict) or not selector or ns_pdb != ns_workload:
        return False
    if any(labels.get(k) != v and not is_unknown(labels.get(k)) for k, v in selector.items()):
        return False
    # A pod label that is still unknown may yet match the selector: undecided, not uncovered.
    return None if any(is_unknown(labels.get(k)) for k in selector) else True


def check(resources: Sequence[Resource], ctx: RuleContext) -> Outcome:
    scalers = [r for r in resources if r.type == SCALED_OBJECT or r.type in HPA_TYPES]
    pdbs = [r for r in resources if r.type == PDB]
    messages: list[tuple[str, str | None]] = []
    pending: list[str] = []
    servers = 0
    for workload in (r for r in resources if r.type in SERVING_TYPES):
        flags = [is_model_server(t) for t in pod_templates(workload)]
        if None in flags:
            pending.append(f"{workload.name}: pod template unknown during preview")
            continue
        if not any(flags):
            continue
        servers += 1
        minimum = _min_replicas(workload, scalers)
        if contains_unknown(minimum):
            pending.append(f"{workload.name}: replica count unknown during preview")
            continue
        if not isinstance(minimum, int | float) or minimum <= 1:
            continue
        labels = _labels(workload)
        if is_unknown(labels):
            pending.append(f"{workload.name}: pod labels unknown during preview")
            continue
        verdicts = [_covers(p, workload, labels) for p in pdbs]
        if any(v is True for v in verdicts):
            continue
        if any(v is None for v in verdicts):
            pending.append(f"{workload.name}: PodDisruptionBudget selector unknown during preview")
            continue
        messages.append((f"model server {workload.name} runs at least {minimum:g} replicas but no "
                         "PodDisruptionBudget selects its pods", workload.urn))
    if messages:
        return violation(*messages)
    if pending:
        return not_applicable("; ".join(pending))
    if servers == 0:
        return not_applicable("no model-server workloads")
    return passed()


RULE = StackRule(
    id="SSG012",
    name="kubernetes-model-server-pdb",
    description="Model servers running more than one replica have a PodDisruptionBudget.",
    config_schema={},
    defaults={},
    check=check,
)
