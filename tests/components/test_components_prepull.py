"""The image pre-pull DaemonSet: in every committed stack, on the serving GPU nodes, pinned, and passing both packs."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from servestack.check import run_check
from servestack.components.kubernetes.prepull import PAUSE_IMAGE, PREPULL_COMMAND
from servestack.preview import run_preview
from servestack.preview.model import PreviewResource, PreviewResult

ROOT = Path(__file__).resolve().parents[2]
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))
PACKS = [ROOT / "policies" / "budget", ROOT / "policies" / "guardrails"]
PREPULLER = "servestack:index:ImagePrePuller"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"


@cache
def _preview(stack: str) -> PreviewResult:
    return run_preview(ROOT, stack)


def _prepull_daemon_set(graph: PreviewResult) -> PreviewResource:
    (component,) = [r for r in graph.resources if r.type == PREPULLER]
    (ds,) = [r for r in graph.resources if r.type == DAEMON_SET and r.parent == component.urn]
    return ds


def _serving_pod(graph: PreviewResult) -> dict[str, Any]:
    (server,) = [r for r in graph.resources if r.type == "servestack:index:ModelServer"]
    (workload,) = [r for r in graph.resources if r.parent == server.urn and r.name.endswith("-workload")]
    spec = workload.inputs["spec"]
    template = spec["template"] if "template" in spec else spec["leaderWorkerTemplate"]["leaderTemplate"]
    pod: dict[str, Any] = template["spec"]
    return pod


@pytest.mark.parametrize("stack", STACKS)
def test_daemon_set_pulls_the_serving_image_on_the_serving_gpu_nodes(stack: str) -> None:
    graph = _preview(stack)
    ds = _prepull_daemon_set(graph)
    pod = ds.inputs["spec"]["template"]["spec"]
    serving = _serving_pod(graph)
    vllm = next(c for c in serving["containers"] if c["name"] == "vllm")
    (init,) = pod["initContainers"]
    (pause,) = pod["containers"]
    # The very image the server pulls (through the stack's registry cache when there is one), doing nothing.
    assert init["image"] == vllm["image"], ds.urn
    assert init["command"] == PREPULL_COMMAND
    assert pause["image"] == PAUSE_IMAGE and PAUSE_IMAGE.rsplit(":", 1)[1][:1].isdigit()
    # The nodes the serving pods select, through the taint that keeps everything else off them.
    assert pod["nodeSelector"] == serving["nodeSelector"], ds.urn
    assert pod["tolerations"] == serving["tolerations"], ds.urn
    # Never GPU capacity: it must land before the device plugin advertises the GPUs.
    for c in (init, pause):
        assert "nvidia.com/gpu" not in c["resources"].get("requests", {}), ds.urn
        assert "nvidia.com/gpu" not in c["resources"].get("limits", {}), ds.urn
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    # In the serving namespace (which enforces the restricted Pod Security Standard).
    assert ds.inputs["metadata"]["namespace"] == _namespace(graph)


def _namespace(graph: PreviewResult) -> str:
    (ns,) = [r for r in graph.resources if r.type == "kubernetes:core/v1:Namespace"
             and r.inputs["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce") == "restricted"]
    name: str = ns.inputs["metadata"]["name"]
    return name


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stack_with_the_daemon_set_passes_both_packs(stack: str) -> None:
    ds = _prepull_daemon_set(_preview(stack))
    result = run_check(ROOT, stack, packs=PACKS, preview=lambda project, name: _preview(name))
    assert result.passed, [v.to_json() for v in result.mandatory]
    assert not [v.to_json() for v in result.violations if v.urn == ds.urn], "not even an advisory finding"


def test_guardrails_judge_the_daemon_set() -> None:
    """The pass above is a verdict, not an exemption: the same DaemonSet running as root is refused."""
    stack = STACKS[0]
    graph = copy.deepcopy(_preview(stack))
    ds = _prepull_daemon_set(graph)
    pod = ds.inputs["spec"]["template"]["spec"]
    pod["securityContext"] = {}
    for c in pod["initContainers"] + pod["containers"]:
        c["securityContext"] = {}
    if ds.wire_inputs is not None:
        ds.wire_inputs["spec"]["template"]["spec"] = copy.deepcopy(pod)
    result = run_check(ROOT, stack, packs=PACKS, preview=lambda project, name: graph)
    # The Pod Security rules are advisory in the shipped pack; the pass above admits no finding at any level.
    found = {v.policy for v in result.violations if v.urn == ds.urn}
    assert {"kubernetes-pss-run-as-non-root", "kubernetes-pss-drop-all-capabilities"} <= found, found
