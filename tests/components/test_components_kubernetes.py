"""Kubernetes components under the SDK's mock engine."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from servestack.components.kubernetes import (
    ModelLoadBalancer,
    ModelServer,
    ModelServerArgs,
    ServingAddons,
    ServingAutoscaler,
)

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)


def _server_args(**overrides: Any) -> ModelServerArgs:
    args: dict[str, Any] = {
        "namespace": "chat",
        "checkpoint": "meta-llama/Llama-3.1-70B-Instruct",
        "served_model_name": "chat-70b",
        "accelerator": "L40S",
        "accelerators_per_node": 4,
        "tensor_parallel": 4,
        "max_model_len": 8192,
        "replicas": 2,
        "dtype": "bfloat16",
        "quantization": "fp8",
        "kv_cache_dtype": "fp8",
        "startup_budget_s": 2400,
        "pod_cpu": "44",
        "pod_memory_gib": 300,
    }
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}  # type: ignore[return-value]


def test_single_node_server_is_a_hardened_gpu_deployment(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ModelServer("chat", _server_args()))
    dep = g.one("kubernetes:apps/v1:Deployment")
    assert dep.parent == g.one("servestack:index:ModelServer").urn, dep.urn
    pod = dep.inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "vllm/vllm-openai:v0.11.0"
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "4", "memory": "300Gi"}
    cmd = container["command"]
    assert cmd[:3] == ["vllm", "serve", "meta-llama/Llama-3.1-70B-Instruct"]
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "4"
    assert cmd[cmd.index("--max-model-len") + 1] == "8192"
    assert cmd[cmd.index("--gpu-memory-utilization") + 1] == "0.90"
    assert cmd[cmd.index("--quantization") + 1] == "fp8"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health", probe
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"servestack.io/accelerator": "L40S"}
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dshm"]["emptyDir"]["medium"] == "Memory"
    assert volumes["model-cache"] == {"name": "model-cache", "emptyDir": {"sizeLimit": "100Gi"}}
    pdb = g.one("kubernetes:policy/v1:PodDisruptionBudget")
    assert pdb.inputs["spec"]["selector"]["matchLabels"] == dep.inputs["spec"]["selector"]["matchLabels"]


def test_single_replica_has_no_disruption_budget(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ModelServer("chat", _server_args(replicas=1)))
    assert not g.of("kubernetes:policy/v1:PodDisruptionBudget")


def test_multi_node_replica_is_a_leader_worker_set(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: ModelServer(
            "big",
            _server_args(
                accelerator="H100",
                accelerators_per_node=8,
                tensor_parallel=16,
                nodes_per_replica=2,
                replicas=1,
                quantization=None,
                kv_cache_dtype="auto",
            ),
        )
    )
    assert not g.of("kubernetes:apps/v1:Deployment")
    lws = g.one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet")
    template = lws.inputs["spec"]["leaderWorkerTemplate"]
    assert template["size"] == 2
    leader = template["leaderTemplate"]["spec"]["containers"][0]
    assert leader["resources"]["limits"] == {"nvidia.com/gpu": "8", "memory": "300Gi"}
    assert "--pipeline-parallel-size 2" in leader["command"][2]
    assert "--tensor-parallel-size 8" in leader["command"][2]
    assert leader["startupProbe"]["httpGet"]["path"] == "/health"
    worker = template["workerTemplate"]["spec"]
    assert worker["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert worker["securityContext"]["runAsNonRoot"] is True


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image": "vllm/vllm-openai:latest"}, "mutable 'latest' tag"),
        ({"image": "vllm/vllm-openai"}, "needs an explicit version tag"),
        ({"tensor_parallel": 8}, "tensor_parallel=8 exceeds the GPUs of one replica"),
        ({"gpu_memory_utilization": 1.5}, "gpu_memory_utilization=1.5 is not valid"),
    ],
)
def test_bad_server_arguments(run_pulumi: Runner, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="ModelServer: ") as info:
        run_pulumi(lambda: ModelServer("chat", _server_args(**overrides)))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("cloud", "annotation", "value"),
    [
        ("aws", "service.beta.kubernetes.io/aws-load-balancer-scheme", "internal"),
        ("gcp", "networking.gke.io/load-balancer-type", "Internal"),
    ],
)
def test_load_balancer_is_internal_by_default(run_pulumi: Runner, cloud: str, annotation: str, value: str) -> None:
    g = run_pulumi(lambda: ModelLoadBalancer("lb", {"namespace": "chat", "selector": {"a": "b"}, "cloud": cloud}))
    svc = g.one("kubernetes:core/v1:Service")
    assert svc.inputs["spec"]["type"] == "LoadBalancer"
    assert svc.inputs["metadata"]["annotations"][annotation] == value


def test_public_aws_load_balancer_terminates_tls(run_pulumi: Runner) -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    g = run_pulumi(
        lambda: ModelLoadBalancer(
            "lb",
            {
                "namespace": "c",
                "selector": {"a": "b"},
                "cloud": "aws",
                "exposure": "public",
                "tls_certificate_arn": arn,
            },
        )
    )
    svc = g.one("kubernetes:core/v1:Service")
    ann = svc.inputs["metadata"]["annotations"]
    assert ann["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] == arn
    assert ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internet-facing"
    assert svc.inputs["spec"]["ports"][0]["port"] == 443


def test_public_without_tls_is_refused(run_pulumi: Runner) -> None:
    with pytest.raises(ValueError, match="exposure=public on aws needs tls_certificate_arn"):
        run_pulumi(
            lambda: ModelLoadBalancer("lb", {"namespace": "c", "selector": {}, "cloud": "aws", "exposure": "public"})
        )


def test_public_gcp_uses_a_managed_certificate(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: ModelLoadBalancer(
            "lb",
            {
                "namespace": "c",
                "selector": {"a": "b"},
                "cloud": "gcp",
                "exposure": "public",
                "tls_domain": "chat.example.com",
            },
        )
    )
    cert = g.one("kubernetes:networking.gke.io/v1:ManagedCertificate")
    assert cert.inputs["spec"]["domains"] == ["chat.example.com"]
    ingress = g.one("kubernetes:networking.k8s.io/v1:Ingress")
    assert ingress.inputs["metadata"]["annotations"]["kubernetes.io/ingress.allow-http"] == "false"
    assert g.one("kubernetes:core/v1:Service").inputs["spec"]["type"] == "ClusterIP"


def test_autoscaler_scales_on_waiting_requests_within_plan_bounds(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: ServingAutoscaler(
            "scale",
            {
                "namespace": "chat",
                "target_name": "chat",
                "target_kind": "Deployment",
                "target_api_version": "apps/v1",
                "served_model_name": "chat-70b",
                "min_replicas": 2,
                "max_replicas": 5,
                "kv_cache_usage_target": 0.8,
            },
        )
    )
    so = g.one("kubernetes:keda.sh/v1alpha1:ScaledObject")
    spec = so.inputs["spec"]
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 5)
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 300
    queries = [t["metadata"]["query"] for t in spec["triggers"]]
    # Scoped to the server's namespace: the pools of a mixed fleet serve one model name, each scales on its own.
    assert queries[0] == 'sum(vllm:num_requests_waiting{model_name="chat-70b", namespace="chat"})'
    assert queries[1] == ('avg(vllm:kv_cache_usage_perc{model_name="chat-70b", namespace="chat"} '
                          'or vllm:gpu_cache_usage_perc{model_name="chat-70b", namespace="chat"})')
    assert all(t["type"] == "prometheus" for t in spec["triggers"])


def test_autoscaler_refuses_max_below_min(run_pulumi: Runner) -> None:
    with pytest.raises(ValueError, match="max_replicas=1 is below min_replicas=2"):
        run_pulumi(
            lambda: ServingAutoscaler(
                "s",
                {
                    "namespace": "c",
                    "target_name": "c",
                    "target_kind": "Deployment",
                    "target_api_version": "apps/v1",
                    "served_model_name": "m",
                    "min_replicas": 2,
                    "max_replicas": 1,
                },
            )
        )


def _command(g: Any) -> list[str]:
    return list(g.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["command"])


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.mark.parametrize(
    ("checkpoint", "quantization", "kv"),
    [
        ("meta-llama/Llama-3.1-70B-Instruct", "fp8", "fp8"),  # quantize on load on an fp8 part
        ("RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8", None, "fp8"),  # pre-quantized: the checkpoint says how
        ("meta-llama/Llama-3.1-70B-Instruct", None, "auto"),  # 16-bit KV, as the contract sized it
    ],
)
def test_server_passes_the_contract_dtypes_through_unchanged(
    run_pulumi: Runner, checkpoint: str, quantization: str | None, kv: str
) -> None:
    args = _server_args(checkpoint=checkpoint, quantization=quantization, kv_cache_dtype=kv)
    cmd = _command(run_pulumi(lambda: ModelServer("chat", args)))
    assert cmd[2] == checkpoint
    assert cmd[cmd.index("--kv-cache-dtype") + 1] == kv
    assert cmd[cmd.index("--dtype") + 1] == "bfloat16"
    assert (cmd[cmd.index("--quantization") + 1] if "--quantization" in cmd else None) == quantization


def test_server_does_not_rederive_the_dtype_from_the_accelerator(run_pulumi: Runner) -> None:
    # The contract owns dtype; a float16 decision on a bf16-capable part is passed through as given.
    cmd = _command(run_pulumi(lambda: ModelServer("chat", _server_args(dtype="float16", accelerator="H100"))))
    assert cmd[cmd.index("--dtype") + 1] == "float16"


@pytest.mark.parametrize("accelerator", ["A100-40GB", "A100-80GB", "A10G", "T4"])
def test_fp8_kv_cache_is_refused_on_parts_without_fp8(run_pulumi: Runner, accelerator: str) -> None:
    # Below SM 8.9 vLLM routes an fp8 KV cache to a path that cannot run it and the engine crash-loops.
    args = _server_args(accelerator=accelerator, quantization=None, dtype="float16")
    with pytest.raises(ValueError, match=f"kv_cache_dtype=fp8 is not supported on {accelerator}"):
        run_pulumi(lambda: ModelServer("prod", args))


def test_a100_serves_with_a_sixteen_bit_kv_cache(run_pulumi: Runner) -> None:
    args = _server_args(accelerator="A100-40GB", quantization=None, kv_cache_dtype="auto")
    cmd = _command(run_pulumi(lambda: ModelServer("prod", args)))
    assert cmd[cmd.index("--kv-cache-dtype") + 1] == "auto"


def test_bfloat16_is_refused_on_a_part_without_bf16(run_pulumi: Runner) -> None:
    # The T4 has no bf16 tensor path (catalog datasheet); vLLM refuses bfloat16 there.
    args = _server_args(accelerator="T4", quantization=None, kv_cache_dtype="auto")
    with pytest.raises(ValueError, match="dtype=bfloat16 is not supported on T4; allowed: float16"):
        run_pulumi(lambda: ModelServer("dev", args))


def test_non_root_server_has_a_user_name_and_writable_caches(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ModelServer("chat", _server_args()))
    pod = g.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = _env(container)
    # torch calls getpass.getuser(); the image has no passwd entry for the pod's UID, so USER must be set.
    assert pod["securityContext"]["runAsUser"] != 0 and env["USER"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert env["HF_HOME"].startswith("/models/") and mounts["/models"] == "model-cache"
    assert env["HOME"] == "/tmp" and "readOnlyRootFilesystem" not in container["securityContext"]


def test_replicas_that_share_a_node_request_only_their_tensor_parallel_gpus(run_pulumi: Runner) -> None:
    # The selector packs accelerators_per_node // tensor_parallel replicas on a node; whole-node requests
    # would leave every replica but the first Pending.
    g = run_pulumi(lambda: ModelServer("chat", _server_args(tensor_parallel=1, replicas=4, pod_memory_gib=60)))
    pod = g.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {"nvidia.com/gpu": "1", "memory": "60Gi"}
    cmd = pod["containers"][0]["command"]
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "1"


@pytest.mark.parametrize("budget_s", [600, 2400, 16_000])
def test_startup_probe_covers_the_contract_startup_budget(run_pulumi: Runner, budget_s: int) -> None:
    # Llama 3.1 405B in bf16 is ~756 GiB: the contract's budget for it runs to hours, a 7B to minutes.
    g = run_pulumi(lambda: ModelServer("big", _server_args(startup_budget_s=budget_s)))
    probe = g.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]["containers"][0]["startupProbe"]
    window = probe["periodSeconds"] * probe["failureThreshold"]
    assert budget_s <= window < budget_s + probe["periodSeconds"]


def test_explicit_storage_class_gives_a_per_pod_claim(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ModelServer("chat", _server_args(cache_storage_class="gp3")))
    pod = g.one("kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    claim = volumes["model-cache"]["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert claim["storageClassName"] == "gp3" and claim["resources"]["requests"] == {"storage": "100Gi"}


def test_multi_node_leader_waits_for_every_worker_and_workers_retry_the_join(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: ModelServer(
            "big",
            _server_args(accelerator="H100", accelerators_per_node=8, tensor_parallel=8, nodes_per_replica=3,
                         replicas=1),
        )
    )
    template = g.one("kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet").inputs["spec"]["leaderWorkerTemplate"]
    leader = template["leaderTemplate"]["spec"]["containers"][0]["command"][2]
    # vLLM asks Ray for every GPU at start-up and fails when a worker has not joined yet.
    head, wait, serve = leader.index("ray start --head"), leader.index("ray.nodes()"), leader.index("vllm serve")
    assert head < wait < serve and "< 3:" in leader
    worker = template["workerTemplate"]["spec"]["containers"][0]["command"][2]
    assert "ray start --address=${LWS_LEADER_ADDRESS}:6379 --block" in worker
    assert worker.startswith("for i in") and "sleep 5" in worker, "a worker started before the head must retry"


def test_public_gcp_backend_outlives_long_streams_and_checks_health(run_pulumi: Runner) -> None:
    g = run_pulumi(
        lambda: ModelLoadBalancer(
            "lb",
            {"namespace": "c", "selector": {"a": "b"}, "cloud": "gcp", "exposure": "public",
             "tls_domain": "chat.example.com"},
        )
    )
    backend = g.one("kubernetes:cloud.google.com/v1:BackendConfig")
    assert backend.inputs["spec"]["timeoutSec"] > 30, "the load balancer default (30 s) cuts streamed completions"
    assert backend.inputs["spec"]["healthCheck"]["requestPath"] == "/health"
    svc = g.one("kubernetes:core/v1:Service")
    ref = json.loads(svc.inputs["metadata"]["annotations"]["cloud.google.com/backend-config"])
    assert ref == {"default": backend.inputs["metadata"]["name"]}


def test_addons_need_no_persistent_volume(run_pulumi: Runner) -> None:
    g = run_pulumi(lambda: ServingAddons("addons", {}))
    prometheus = g.one("kubernetes:helm.sh/v3:Release", "addons-prometheus")
    assert prometheus.inputs["values"]["server"]["persistentVolume"] == {"enabled": False}
