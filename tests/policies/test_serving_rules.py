"""Serving guardrails: fp8 KV cache on parts without fp8, CPU/memory requests of GPU pods, and Pulumi's wait
for GPU workloads against their startup budget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from servestack.costing.resources import Resource
from servestack.policies.base import ResourceOptions
from servestack.policies.kubernetes import fp8_kv_cache, gpu_pod_cpu_request, gpu_pod_memory_request
from servestack.policies.kubernetes import workload_await_timeout as gpu_workload_await
from tests.policies.fixtures import by_type, deployment, hardened_aws, pod
from tests.policies.helpers import WIRE_UNKNOWN, changed, removed, run, via_policy

CONTAINER: list[str | int] = ["spec", "template", "spec", "containers", 0]
SELECTOR: list[str | int] = ["spec", "template", "spec", "nodeSelector"]
SERVER = deployment()
FP8 = ["vllm", "serve", "m", "--kv-cache-dtype", "fp8"]


def serving(accelerator_label: str, value: str, command: list[str] | None = None) -> Resource:
    r = changed(SERVER, [*CONTAINER, "command"], command or FP8)
    return changed(r, SELECTOR, {accelerator_label: value})


# -- kubernetes-fp8-kv-cache-supported -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("servestack.io/accelerator", "L40S"),
        ("servestack.io/accelerator", "H100"),
        ("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
        ("nvidia.com/gpu.product", "NVIDIA-L4"),
        ("cloud.google.com/gke-accelerator", "nvidia-l4"),
        ("cloud.google.com/gke-accelerator", "nvidia-h200-141gb"),
        ("node.kubernetes.io/instance-type", "g6e.xlarge"),
        ("node.kubernetes.io/instance-type", "p5.48xlarge"),
        ("k8s.amazonaws.com/accelerator", "nvidia-b200"),
    ],
)
def test_fp8_kv_cache_on_fp8_parts_passes(label: str, value: str) -> None:
    assert run(fp8_kv_cache.RULE, serving(label, value)).status == "pass"


@pytest.mark.parametrize(
    ("label", "value", "canonical"),
    [
        ("servestack.io/accelerator", "A100-40GB", "A100-40GB"),
        ("nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB", "A100-80GB"),
        ("nvidia.com/gpu.product", "NVIDIA-A10G", "A10G"),
        ("nvidia.com/gpu.product", "Tesla-T4", "T4"),
        ("nvidia.com/gpu.product", "Tesla-V100-SXM2-16GB", "V100"),
        ("cloud.google.com/gke-accelerator", "nvidia-tesla-a100", "A100-40GB"),
        ("cloud.google.com/gke-accelerator", "nvidia-a100-80gb", "A100-80GB"),
        ("cloud.google.com/gke-accelerator", "nvidia-tesla-v100", "V100"),
        ("node.kubernetes.io/instance-type", "p4d.24xlarge", "A100-40GB"),
        ("node.kubernetes.io/instance-type", "g5.12xlarge", "A10G"),
    ],
)
def test_fp8_kv_cache_on_parts_without_fp8(label: str, value: str, canonical: str) -> None:
    assert run(fp8_kv_cache.RULE, serving(label, value)).texts == [
        f"container vllm runs --kv-cache-dtype fp8 on {label}={value} ({canonical}), which has no fp8 support "
        "(needs SM 8.9+: L4, L40S, H100, H200, B200); use --kv-cache-dtype auto and size the KV cache at 16 bits"]


@pytest.mark.parametrize("command", [
    ["vllm", "serve", "m", "--kv-cache-dtype=fp8_e4m3"],
    ["vllm", "serve", "m", "--kv-cache-dtype", "fp8_e5m2"],
    ["sh", "-c", "exec vllm serve m --kv-cache-dtype fp8"],
], ids=["equals-e4m3", "e5m2", "shell"])
def test_fp8_kv_cache_spellings(command: list[str]) -> None:
    assert run(fp8_kv_cache.RULE, serving("servestack.io/accelerator", "A100-80GB", command)).violated


def test_fp8_in_args_and_affinity() -> None:
    r = changed(SERVER, [*CONTAINER, "args"], ["--kv-cache-dtype", "fp8"])
    r = changed(removed(r, SELECTOR), ["spec", "template", "spec", "affinity"], {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "cloud.google.com/gke-accelerator", "operator": "In", "values": ["nvidia-l4", "nvidia-tesla-t4"]},
        ]}]}}})
    outcome = run(fp8_kv_cache.RULE, r)
    assert [t.split(" which")[0] for t in outcome.texts] == [
        "container vllm runs --kv-cache-dtype fp8 on cloud.google.com/gke-accelerator=nvidia-tesla-t4 (T4),"]


def test_fp8_kv_cache_other_dtypes_and_no_accelerator() -> None:
    auto = serving("servestack.io/accelerator", "A100-40GB", ["vllm", "serve", "m", "--kv-cache-dtype", "auto"])
    assert run(fp8_kv_cache.RULE, auto).status == "not_applicable"
    unnamed = changed(SERVER, [*CONTAINER, "command"], FP8)
    assert run(fp8_kv_cache.RULE, unnamed).reason == "pod template names no accelerator in its node selection"
    unknown_part = serving("nvidia.com/gpu.product", "Acme-X1")
    assert run(fp8_kv_cache.RULE, unknown_part).status == "not_applicable"


def test_fp8_kv_cache_unknowns() -> None:
    unknown_selector = changed(SERVER, [*CONTAINER, "command"], FP8)
    unknown_selector = changed(unknown_selector, SELECTOR, WIRE_UNKNOWN)
    assert run(fp8_kv_cache.RULE, unknown_selector).status == "not_applicable"
    unknown_command = changed(serving("servestack.io/accelerator", "A100-40GB"), [*CONTAINER, "command"], WIRE_UNKNOWN)
    assert run(fp8_kv_cache.RULE, unknown_command).status == "not_applicable"


def test_fp8_kv_cache_leader_worker_set_and_pod() -> None:
    spec = {"nodeSelector": {"servestack.io/accelerator": "A10G"},
            "containers": [{"name": "engine", "image": "vllm/vllm-openai:v0.11.0", "args": FP8[3:]}]}
    lws = pod("LeaderWorkerSet", spec=spec)
    assert [t.split(" runs")[0] for t in run(fp8_kv_cache.RULE, lws).texts] == [
        "leader container engine", "worker container engine"]
    bare = pod("Pod", spec=spec)
    assert run(fp8_kv_cache.RULE, bare).violated
    violations, _ = via_policy(fp8_kv_cache.RULE, bare)
    assert [m for m, _ in violations] == run(fp8_kv_cache.RULE, bare).texts


# -- kubernetes-gpu-pod-cpu-request / kubernetes-gpu-pod-memory-request ----------------------------------


@pytest.mark.parametrize("rule", [gpu_pod_cpu_request.RULE, gpu_pod_memory_request.RULE], ids=lambda r: r.name)
def test_gpu_pod_requests_pass(rule) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, SERVER).status == "pass"


@pytest.mark.parametrize(("rule", "resource"), [(gpu_pod_cpu_request.RULE, "cpu"),
                                                (gpu_pod_memory_request.RULE, "memory")])
def test_gpu_pod_without_request(rule, resource: str) -> None:  # type: ignore[no-untyped-def]
    bad = removed(SERVER, [*CONTAINER, "resources", "requests", resource])
    assert run(rule, bad).texts == [
        f"container vllm requests nvidia.com/gpu but no {resource} (resources.requests.{resource}); without it the "
        "pod is evicted first under node pressure"]
    other = gpu_pod_memory_request.RULE if resource == "cpu" else gpu_pod_cpu_request.RULE
    assert run(other, bad).status == "pass"
    # A limit alone counts: Kubernetes copies it into the request.
    limited = changed(bad, [*CONTAINER, "resources", "limits", resource], "8")
    assert run(rule, limited).status == "pass"


def test_cpu_request_only_judges_gpu_containers_and_unknown() -> None:
    web = pod("Deployment")
    assert run(gpu_pod_cpu_request.RULE, web).status == "not_applicable"
    unknown = changed(SERVER, [*CONTAINER, "resources"], WIRE_UNKNOWN)
    assert run(gpu_pod_cpu_request.RULE, unknown).status == "not_applicable"
    unknown_value = changed(SERVER, [*CONTAINER, "resources", "requests", "cpu"], WIRE_UNKNOWN)
    assert run(gpu_pod_cpu_request.RULE, unknown_value).status == "pass"


# -- kubernetes-gpu-workload-await-timeout ---------------------------------------------------------------

GRAPH = hardened_aws()
SERVICE = by_type(GRAPH, "kubernetes:core/v1:Service")
# A 70B-class cold start: 1 hour of startup probe budget.
SLOW = changed(SERVER, [*CONTAINER, "startupProbe"], {"httpGet": {"path": "/health", "port": 8000},
                                                      "periodSeconds": 10, "failureThreshold": 360})
SLOW_SERVICE = changed(SERVICE, ["metadata", "namespace"], "default")


def _await(*resources: Resource, options: dict[str, ResourceOptions] | None = None):  # type: ignore[no-untyped-def]
    rule = gpu_workload_await.RULE
    return rule.validate(list(resources), rule.context(None, None, options))


def test_short_startup_passes_under_the_default_wait() -> None:
    # The fixture's startup probe uses Kubernetes' defaults: 3 x 10 s, well under 600 s.
    assert run(gpu_workload_await.RULE, [SERVER, SLOW_SERVICE]).status == "pass"
    assert gpu_workload_await.startup_budget(SERVER) == 30


def test_cold_start_longer_than_the_default_wait() -> None:
    outcome = _await(SLOW, SLOW_SERVICE)
    assert outcome.messages == (
        ("Deployment vllm: Pulumi waits 600 s (the provider's default) for it to become ready, less than its GPU "
         "pods' startup budget of 3600 s (startupProbe initialDelaySeconds + failureThreshold x periodSeconds); set "
         "customTimeouts create to at least 3600 s, or the annotation pulumi.com/timeoutSeconds, or "
         "pulumi.com/skipAwait: \"true\"", SLOW.urn),
        ("LoadBalancer Service vllm: Pulumi waits 600 s (the provider's default) for it to become ready, less than "
         "its GPU pods' startup budget of 3600 s (startupProbe initialDelaySeconds + failureThreshold x "
         "periodSeconds); set customTimeouts create to at least 3600 s, or the annotation "
         "pulumi.com/timeoutSeconds, or pulumi.com/skipAwait: \"true\"", SLOW_SERVICE.urn),
    )


def test_custom_timeouts_cover_the_budget() -> None:
    enough = {SLOW.urn: ResourceOptions(create_timeout_s=3600),
              SLOW_SERVICE.urn: ResourceOptions(create_timeout_s=4000)}
    assert _await(SLOW, SLOW_SERVICE, options=enough).status == "pass"
    short = {**enough, SLOW.urn: ResourceOptions(create_timeout_s=1800)}
    outcome = _await(SLOW, SLOW_SERVICE, options=short)
    assert [urn for _, urn in outcome.messages] == [SLOW.urn]
    assert "waits 1800 s (customTimeouts.create)" in outcome.texts[0]
    # The annotation covers what the option does not.
    annotated = changed(SLOW, ["metadata", "annotations"], {"pulumi.com/timeoutSeconds": "3600"})
    assert _await(annotated, SLOW_SERVICE, options=short).status == "pass"


def test_annotations_cover_or_skip_the_wait() -> None:
    timeout = changed(SLOW, ["metadata", "annotations"], {"pulumi.com/timeoutSeconds": "3600"})
    skipped = changed(SLOW_SERVICE, ["metadata", "annotations", "pulumi.com/skipAwait"], "true")
    assert _await(timeout, skipped).status == "pass"
    too_short = changed(SLOW, ["metadata", "annotations"], {"pulumi.com/timeoutSeconds": "900"})
    assert "waits 900 s (annotation pulumi.com/timeoutSeconds)" in _await(too_short, skipped).texts[0]


def test_custom_timeouts_reach_the_rule_through_the_adapter() -> None:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs
    from pulumi_policy.proxy import unknown_checking_proxy

    from servestack.policies.adapter import to_policy

    def resource(r: Resource, create: float) -> PolicyResource:
        opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(create, 0, 0), [], None)
        return PolicyResource(r.type, unknown_checking_proxy(r.inputs), r.urn, r.name, opts, None, None, [], {})

    found: list[str] = []
    policy = to_policy(gpu_workload_await.RULE, "mandatory")
    args = StackValidationArgs([resource(SLOW, 3600), resource(SLOW_SERVICE, 0)], {})
    policy.validate(args, lambda message, urn=None: found.append(urn))  # type: ignore[attr-defined]
    assert found == [SLOW_SERVICE.urn]


def test_service_selecting_other_pods_or_namespace_is_not_judged() -> None:
    other = changed(SLOW_SERVICE, ["spec", "selector"], {"app": "web"})
    assert [urn for _, urn in _await(SLOW, other).messages] == [SLOW.urn]
    elsewhere = changed(SLOW_SERVICE, ["metadata", "namespace"], "other")
    assert [urn for _, urn in _await(SLOW, elsewhere).messages] == [SLOW.urn]


def test_await_unknowns_and_non_gpu_workloads() -> None:
    unknown_probe = changed(SLOW, [*CONTAINER, "startupProbe", "failureThreshold"], WIRE_UNKNOWN)
    assert run(gpu_workload_await.RULE, [unknown_probe]).status == "not_applicable"
    unknown_notes = changed(SLOW, ["metadata", "annotations"], WIRE_UNKNOWN)
    assert run(gpu_workload_await.RULE, [unknown_notes]).status == "not_applicable"
    web = pod("Deployment")
    assert run(gpu_workload_await.RULE, [web]).status == "not_applicable"
    no_probe = removed(SLOW, [*CONTAINER, "startupProbe"])
    assert run(gpu_workload_await.RULE, [no_probe]).status == "not_applicable"
    lws = replace(pod("LeaderWorkerSet"), name="lws")
    assert run(gpu_workload_await.RULE, [lws]).status == "not_applicable"


def test_an_unknown_image_does_not_hide_the_command() -> None:
    # The image often names the stack's own registry, unknown until it exists.
    bad = changed(serving("servestack.io/accelerator", "A100-40GB"), [*CONTAINER, "image"], WIRE_UNKNOWN)
    assert run(fp8_kv_cache.RULE, bad).violated
    slow = changed(SLOW, [*CONTAINER, "image"], WIRE_UNKNOWN)
    assert run(gpu_workload_await.RULE, [slow]).violated


def test_leader_worker_set_is_judged_when_pulumi_waits_for_it() -> None:
    probe = {"httpGet": {"path": "/health", "port": 8000}, "periodSeconds": 10, "failureThreshold": 360}
    spec = {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.11.0", "startupProbe": probe,
                            "resources": {"limits": {"nvidia.com/gpu": "8"}}}]}
    lws = pod("LeaderWorkerSet", "vllm", spec=spec)
    service = changed(SLOW_SERVICE, ["spec", "selector"], {"app": "vllm"})
    # A custom resource is not awaited by default; the Service in front of its pods is.
    assert [urn for _, urn in _await(lws, service).messages] == [service.urn]
    waited = changed(lws, ["metadata", "annotations"], {"pulumi.com/waitFor": "condition=Available"})
    assert [urn for _, urn in _await(waited, service).messages] == [waited.urn, service.urn]


def test_any_service_selecting_the_pods_is_awaited_but_external_names_are_not() -> None:
    cluster_ip = changed(SLOW_SERVICE, ["spec", "type"], "ClusterIP")
    outcome = _await(SLOW, cluster_ip)
    assert [urn for _, urn in outcome.messages] == [SLOW.urn, cluster_ip.urn]
    assert outcome.texts[1].startswith("ClusterIP Service vllm: Pulumi waits 600 s")
    external = changed(SLOW_SERVICE, ["spec", "type"], "ExternalName")
    assert [urn for _, urn in _await(SLOW, external).messages] == [SLOW.urn]
