"""Kubernetes components (any cloud): the vLLM model server, its load balancer, autoscaler and add-ons.

Every component takes an optional `kubeconfig`; when given it builds its own Kubernetes provider,
otherwise it uses the provider passed in `opts` (or the ambient one). Annotations are evaluated at
import (no `from __future__ import annotations`) because the component provider host reads them.
"""

import json
import shlex
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.catalog import load_catalog
from servestack.components._common import (
    ACCELERATOR_LABEL,
    GPU_TAINT_KEY,
    check_choice,
    check_positive,
)
from servestack.components.config import check_image

__all__ = [
    "ModelServer",
    "ModelServerArgs",
    "ModelLoadBalancer",
    "ModelLoadBalancerArgs",
    "ServingAutoscaler",
    "ServingAutoscalerArgs",
    "ServingAddons",
    "ServingAddonsArgs",
    "NvidiaDevicePlugin",
    "NvidiaDevicePluginArgs",
    "SERVER_PORT",
]

SERVER_PORT = 8000
# Pinned add-on versions (chart/image releases as published by each project, as of 2026-11).
# (release name, chart, version, repository; None for a chart referenced by an oci:// URL)
KEDA_CHART = ("keda", "keda", "2.17.0", "https://kedacore.github.io/charts")
PROMETHEUS_CHART = ("prometheus", "prometheus", "27.20.0", "https://prometheus-community.github.io/helm-charts")
LWS_CHART = ("lws", "oci://registry.k8s.io/lws/charts/lws", "0.8.0", None)
DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"
_GCP_BACKEND_TIMEOUT_S = 600
"""Longest response the public GCP load balancer lets a backend stream (a long generation at low TPOT)."""
PROMETHEUS_URL = "http://prometheus-server.servestack-monitoring.svc.cluster.local:80"
_UID = 1000


def _child_opts(
    component: pulumi.ComponentResource,
    name: str,
    kubeconfig: pulumi.Input[str] | None,
    opts: pulumi.ResourceOptions | None,
) -> pulumi.ResourceOptions:
    """Children are parented to the component, use its provider, and wait for what the component waits for."""
    depends_on = opts.depends_on if opts is not None and opts.depends_on is not None else None
    if kubeconfig is None:
        return pulumi.ResourceOptions(parent=component, depends_on=depends_on)
    provider = k8s.Provider(f"{name}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=component))
    return pulumi.ResourceOptions(parent=component, provider=provider, depends_on=depends_on)


def _restricted_pod_security() -> dict[str, Any]:
    return {
        "run_as_non_root": True,
        "run_as_user": _UID,
        "run_as_group": _UID,
        "fs_group": _UID,
        "seccomp_profile": {"type": "RuntimeDefault"},
    }


def _restricted_container_security() -> dict[str, Any]:
    return {
        "allow_privilege_escalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
    }


def _has_bf16(accelerator: str) -> bool:
    """Whether the catalog's datasheet gives the part a bf16 tensor path (unknown parts are assumed to)."""
    facts = load_catalog().accelerators.get(accelerator)
    return facts is None or facts.bf16_tflops is not None


class ModelServerArgs(TypedDict):
    """Inputs of a vLLM OpenAI-compatible model server."""

    namespace: pulumi.Input[str]
    """Namespace of the server."""
    model: str
    """Hugging Face repository to serve, e.g. meta-llama/Llama-3.1-70B-Instruct."""
    served_model_name: str
    """Model name clients put in requests."""
    accelerator: str
    """Canonical accelerator id; pods select nodes labelled with it."""
    accelerators_per_node: int
    """GPUs each pod requests (the nvidia.com/gpu limit)."""
    tensor_parallel: int
    """Tensor-parallel size (GPUs per node when a replica spans nodes)."""
    max_model_len: int
    """Longest prompt + output, tokens."""
    replicas: int
    """Initial replicas (the autoscaler's minimum)."""
    image: NotRequired[str]
    """vLLM image with a version tag; defaults to vllm/vllm-openai:v0.11.0."""
    gpu_memory_utilization: NotRequired[float]
    """Fraction of GPU memory vLLM may use (default 0.90)."""
    nodes_per_replica: NotRequired[int]
    """Nodes one replica spans; above 1 uses a LeaderWorkerSet with pipeline parallelism across nodes."""
    precision: NotRequired[str]
    """fp16, bf16 or fp8 (fp8 quantizes on load); int8/int4 need a pre-quantized checkpoint."""
    cache_size_gib: NotRequired[int]
    """Size limit of the model-weights cache per pod, GiB (default 100); also sets how long the first start may take."""
    cache_storage_class: NotRequired[str]
    """Storage class of a per-pod cache claim; when absent the cache is an emptyDir on the node's root volume."""
    hf_token: NotRequired[pulumi.Input[str]]
    """Hugging Face token for gated models (stored as a Kubernetes Secret)."""
    shm_size: NotRequired[str]
    """Size of the /dev/shm memory volume (default 16Gi)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ModelServer(pulumi.ComponentResource):
    """vLLM serving one model on GPU nodes: a Deployment, or a LeaderWorkerSet when a replica spans nodes."""

    workload_name: pulumi.Output[str]
    """Name of the Deployment or LeaderWorkerSet."""
    workload_kind: pulumi.Output[str]
    """Deployment or LeaderWorkerSet."""
    workload_api_version: pulumi.Output[str]
    """apps/v1 or leaderworkerset.x-k8s.io/v1."""
    selector: pulumi.Output[dict[str, str]]
    """Labels that select the serving pods (leaders, for multi-node replicas)."""

    def __init__(self, name: str, args: ModelServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ModelServer", name, None, opts)
        comp = "ModelServer"
        image = args.get("image", "vllm/vllm-openai:v0.11.0")
        try:
            image = check_image(image)
        except ValueError as exc:
            raise ValueError(f"{comp}: {exc}") from None
        gpus = check_positive(comp, "accelerators_per_node", args.get("accelerators_per_node"))
        tp = check_positive(comp, "tensor_parallel", args.get("tensor_parallel"))
        span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica", 1))
        max_len = check_positive(comp, "max_model_len", args.get("max_model_len"), minimum=16)
        replicas = check_positive(comp, "replicas", args.get("replicas"))
        cache_gib = check_positive(comp, "cache_size_gib", args.get("cache_size_gib", 100))
        precision = check_choice(
            comp, "precision", args.get("precision", "bf16"), ("fp16", "bf16", "fp8", "int8", "int4")
        )
        util = float(args.get("gpu_memory_utilization", 0.90))
        if not 0.1 <= util <= 0.99:
            raise ValueError(f"{comp}: gpu_memory_utilization={util} is not valid; allowed: 0.1-0.99")
        if tp > gpus * span or (span == 1 and tp > gpus):
            raise ValueError(f"{comp}: tensor_parallel={tp} exceeds the GPUs of one replica ({gpus} x {span} nodes)")
        model = args["model"]
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"{comp}: model={model!r} is not valid; allowed: a Hugging Face repository id")

        child = _child_opts(self, name, args.get("kubeconfig"), opts)
        labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "servestack"}
        env: list[dict[str, Any]] = [
            {"name": "HF_HOME", "value": "/models/hf"},
            {"name": "XDG_CACHE_HOME", "value": "/models/cache"},
            {"name": "HOME", "value": "/tmp"},
            # The image has no passwd entry for _UID; torch's compile cache calls getpass.getuser() at import,
            # which falls back to getpwuid() and raises KeyError unless USER is set.
            {"name": "USER", "value": "vllm"},
        ]
        token = args.get("hf_token")
        if token is not None:
            secret = k8s.core.v1.Secret(
                f"{name}-hf-token",
                metadata={"namespace": args["namespace"], "labels": labels},
                string_data={"token": pulumi.Output.secret(token)},
                opts=child,
            )
            env.append(
                {"name": "HF_TOKEN", "value_from": {"secret_key_ref": {"name": secret.metadata.name, "key": "token"}}}
            )

        # No --task/--runner flag: vLLM (0.10+) picks the pooling runner for embedding architectures itself
        # (--runner auto), and --task is deprecated; a measured embedding model is served from its repository.
        serve = [
            "vllm",
            "serve",
            model,
            "--served-model-name",
            args["served_model_name"],
            "--port",
            str(SERVER_PORT),
            "--max-model-len",
            str(max_len),
            "--gpu-memory-utilization",
            f"{util:.2f}",
        ]
        if precision in ("fp16", "bf16"):
            # bf16 needs an Ampere-or-newer part; on one without a bf16 tensor path (T4) vLLM refuses
            # bfloat16, and the performance model already sized it as fp16 (sizing.compute_path).
            half = precision == "fp16" or not _has_bf16(args["accelerator"])
            serve += ["--dtype", "float16" if half else "bfloat16"]
        elif precision == "fp8":
            if "fp8" not in model.lower():
                serve += ["--quantization", "fp8"]
            # The plan sized the KV cache at one byte per element for fp8 (sizing.kv_bytes_per_element);
            # without this vLLM keeps it in the 16-bit activation dtype and holds half the planned sequences.
            serve += ["--kv-cache-dtype", "fp8"]
        if span == 1:
            serve += ["--tensor-parallel-size", str(tp)]
        else:
            serve += [
                "--tensor-parallel-size",
                str(gpus),
                "--pipeline-parallel-size",
                str(span),
                "--distributed-executor-backend",
                "ray",
            ]

        pod_common = _PodParts(
            name=name,
            image=image,
            # A single-node replica takes only its tensor-parallel GPUs, so replicas can share a node the way
            # the plan packs them (nodes = replicas / (GPUs per node // tensor_parallel)).
            gpus=tp if span == 1 else gpus,
            accelerator=args["accelerator"],
            env=env,
            cache_gib=cache_gib,
            cache_class=args.get("cache_storage_class"),
            shm_size=args.get("shm_size", "16Gi"),
        )
        if span == 1:
            deployment_spec: Any = {
                "replicas": replicas,
                "selector": {"match_labels": labels},
                "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 0, "max_unavailable": 1}},
                "template": {
                    "metadata": {"labels": labels, "annotations": _scrape_annotations()},
                    "spec": pod_common.spec(serve, probes=True),
                },
            }
            workload = k8s.apps.v1.Deployment(
                f"{name}-workload",
                metadata={"namespace": args["namespace"], "labels": labels},
                spec=deployment_spec,
                # KEDA owns the replica count after creation.
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])),
            )
            self.workload_name = workload.metadata.apply(lambda m: m.name or "")
            self.workload_kind = pulumi.Output.from_input("Deployment")
            self.workload_api_version = pulumi.Output.from_input("apps/v1")
            selector = labels
        else:
            leader_cmd = _leader_command(serve, span)
            worker_cmd = _WORKER_COMMAND
            k8s.apiextensions.CustomResource(
                f"{name}-workload",
                api_version="leaderworkerset.x-k8s.io/v1",
                kind="LeaderWorkerSet",
                # Custom resources are not auto-named by the provider; the component name is unique per stack.
                metadata={"name": name, "namespace": args["namespace"], "labels": labels},
                spec={
                    "replicas": replicas,
                    "startupPolicy": "LeaderCreated",
                    "leaderWorkerTemplate": {
                        "size": span,
                        "restartPolicy": "RecreateGroupOnPodRestart",
                        "leaderTemplate": {
                            "metadata": {"labels": {**labels, "role": "leader"}, "annotations": _scrape_annotations()},
                            "spec": pod_common.spec(["sh", "-c", leader_cmd], probes=True, camel=True),
                        },
                        "workerTemplate": {
                            "metadata": {"labels": {**labels, "role": "worker"}},
                            "spec": pod_common.spec(["sh", "-c", worker_cmd], probes=False, camel=True),
                        },
                    },
                },
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])),
            )
            self.workload_name = pulumi.Output.from_input(name)
            self.workload_kind = pulumi.Output.from_input("LeaderWorkerSet")
            self.workload_api_version = pulumi.Output.from_input("leaderworkerset.x-k8s.io/v1")
            selector = {**labels, "role": "leader"}

        if replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"namespace": args["namespace"], "labels": labels},
                spec={"max_unavailable": 1, "selector": {"match_labels": selector}},
                opts=child,
            )
        self.selector = pulumi.Output.from_input(selector)
        self.register_outputs(
            {
                "workload_name": self.workload_name,
                "workload_kind": self.workload_kind,
                "workload_api_version": self.workload_api_version,
                "selector": self.selector,
            }
        )


# Ray joins as the vLLM multi-node example does (examples/online_serving/multi-node-serving.sh): the leader
# blocks until every node of the group has joined before `vllm serve` asks Ray for its placement group (which
# fails at once when GPUs are missing), and a worker retries until the leader's head is listening; a first
# failure would otherwise restart the container and, with RecreateGroupOnPodRestart, the whole group.
_RAY_PORT = 6379
_RAY_JOIN_TIMEOUT_S = 1200
_WORKER_COMMAND = (
    f"for i in $(seq 1 {_RAY_JOIN_TIMEOUT_S // 5}); do "
    f"ray start --address=${{LWS_LEADER_ADDRESS}}:{_RAY_PORT} --block && exit 0; sleep 5; done; "
    "echo 'ray head did not accept this worker' >&2; exit 1"
)


def _leader_command(serve: list[str], nodes: int) -> str:
    wait = (
        "import ray, sys, time; ray.init(address='auto'); t = time.time()\n"
        f"while sum(1 for n in ray.nodes() if n['Alive']) < {nodes}:\n"
        f"    if time.time() - t > {_RAY_JOIN_TIMEOUT_S}: sys.exit('ray workers did not join')\n"
        "    time.sleep(5)\n"
    )
    return (
        f"ray start --head --port={_RAY_PORT} --dashboard-host=127.0.0.1 && "
        f"python3 -c {shlex.quote(wait)} && exec {shlex.join(serve)}"
    )


def _startup_failure_threshold(cache_gib: int, period_s: int) -> int:
    """Probe failures allowed while the first start downloads the checkpoint (about the cache size) at a
    conservative 50 MiB/s, then loads, quantizes and compiles it (15 min); never under 60 min."""
    budget_s = max(3600, 900 + cache_gib * 1024 // 50)
    return -(-budget_s // period_s)


def _scrape_annotations() -> dict[str, str]:
    return {"prometheus.io/scrape": "true", "prometheus.io/port": str(SERVER_PORT), "prometheus.io/path": "/metrics"}


class _PodParts:
    """The pod template shared by Deployment pods, LWS leaders and LWS workers."""

    def __init__(
        self,
        *,
        name: str,
        image: str,
        gpus: int,
        accelerator: str,
        env: list[dict[str, Any]],
        cache_gib: int,
        cache_class: str | None,
        shm_size: str,
    ) -> None:
        self.name, self.image, self.gpus, self.accelerator = name, image, gpus, accelerator
        self.env, self.cache_gib, self.cache_class, self.shm_size = env, cache_gib, cache_class, shm_size

    def spec(self, command: list[str], *, probes: bool, camel: bool = False) -> dict[str, Any]:
        """Pod spec; `camel` gives Kubernetes field names for CustomResource bodies (no SDK name translation)."""
        health = {"http_get": {"path": "/health", "port": SERVER_PORT}}
        container: dict[str, Any] = {
            "name": "vllm",
            "image": self.image,
            "command": command,
            "env": self.env,
            "ports": [{"name": "http", "container_port": SERVER_PORT}],
            "resources": {
                "limits": {"nvidia.com/gpu": str(self.gpus)},
                "requests": {"nvidia.com/gpu": str(self.gpus)},
            },
            "security_context": _restricted_container_security(),
            "volume_mounts": [
                {"name": "dshm", "mount_path": "/dev/shm"},
                {"name": "model-cache", "mount_path": "/models"},
            ],
        }
        if probes:
            # The first start downloads the weights into the cache before /health answers.
            container["startup_probe"] = {
                **health,
                "period_seconds": 10,
                "failure_threshold": _startup_failure_threshold(self.cache_gib, 10),
            }
            container["readiness_probe"] = {**health, "period_seconds": 5, "failure_threshold": 3}
            container["liveness_probe"] = {**health, "period_seconds": 15, "failure_threshold": 4}
        cache: dict[str, Any]
        if self.cache_class:
            claim = {
                "access_modes": ["ReadWriteOnce"],
                "storage_class_name": self.cache_class,
                "resources": {"requests": {"storage": f"{self.cache_gib}Gi"}},
            }
            cache = {"name": "model-cache", "ephemeral": {"volume_claim_template": {"spec": claim}}}
        else:
            # The node's root volume is sized by the plan to hold the cached weights; a claim on the cluster's
            # default class would stay Pending on EKS, which ships no EBS CSI driver or default StorageClass.
            cache = {"name": "model-cache", "empty_dir": {"size_limit": f"{self.cache_gib}Gi"}}
        spec: dict[str, Any] = {
            "containers": [container],
            "security_context": _restricted_pod_security(),
            "automount_service_account_token": False,
            "termination_grace_period_seconds": 60,
            "node_selector": {ACCELERATOR_LABEL: self.accelerator},
            "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
            "topology_spread_constraints": [
                {
                    "max_skew": 1,
                    "topology_key": "topology.kubernetes.io/zone",
                    # ScheduleAnyway: a zone without spare GPUs must not block scale-up.
                    "when_unsatisfiable": "ScheduleAnyway",
                    "label_selector": {"match_labels": {"app.kubernetes.io/name": self.name}},
                }
            ],
            "volumes": [
                {"name": "dshm", "empty_dir": {"medium": "Memory", "size_limit": self.shm_size}},
                # Lives as long as the pod: container restarts keep the downloaded weights.
                cache,
            ],
        }
        return _camelize(spec) if camel else spec


def _camelize(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            keep = "/" in key or "." in key  # label keys and resource names stay as they are
            new_key = key if keep else _camel(key)
            out[new_key] = _camelize(item)
        return out
    if isinstance(value, list):
        return [_camelize(v) for v in value]
    return value


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class ModelLoadBalancerArgs(TypedDict):
    """Inputs of the load balancer in front of a model server."""

    namespace: pulumi.Input[str]
    """Namespace of the server."""
    selector: pulumi.Input[dict[str, str]]
    """Labels of the serving pods."""
    cloud: str
    """aws or gcp: selects the load balancer annotations."""
    exposure: NotRequired[str]
    """internal (default) or public; public requires TLS."""
    tls_certificate_arn: NotRequired[pulumi.Input[str]]
    """AWS: ACM certificate for the public TLS listener."""
    tls_domain: NotRequired[str]
    """GCP: DNS name of the Google-managed certificate for a public endpoint."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ModelLoadBalancer(pulumi.ComponentResource):
    """An internal (default) or TLS-terminated public load balancer for the model server."""

    address: pulumi.Output[str]
    """Hostname or IP of the load balancer once provisioned."""
    port: pulumi.Output[int]
    """Port clients connect to."""

    def __init__(self, name: str, args: ModelLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ModelLoadBalancer", name, None, opts)
        comp = "ModelLoadBalancer"
        cloud = check_choice(comp, "cloud", args.get("cloud"), ("aws", "gcp"))
        exposure = check_choice(comp, "exposure", args.get("exposure", "internal"), ("internal", "public"))
        if exposure == "public" and cloud == "aws" and not args.get("tls_certificate_arn"):
            raise ValueError(f"{comp}: exposure=public on aws needs tls_certificate_arn (an ACM certificate)")
        if exposure == "public" and cloud == "gcp" and not args.get("tls_domain"):
            raise ValueError(f"{comp}: exposure=public on gcp needs tls_domain (for a managed certificate)")
        child = _child_opts(self, name, args.get("kubeconfig"), opts)
        meta_labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "servestack"}

        if cloud == "gcp" and exposure == "public":
            k8s.apiextensions.CustomResource(
                f"{name}-cert",
                api_version="networking.gke.io/v1",
                kind="ManagedCertificate",
                metadata={"name": f"{name}-cert", "namespace": args["namespace"], "labels": meta_labels},
                spec={"domains": [args.get("tls_domain")]},
                opts=child,
            )
            # The load balancer's backend timeout defaults to 30 s for the whole response, which cuts off any
            # streamed completion that runs longer; its health check defaults to `/`, which vLLM answers 404.
            k8s.apiextensions.CustomResource(
                f"{name}-backend",
                api_version="cloud.google.com/v1",
                kind="BackendConfig",
                metadata={"name": f"{name}-backend", "namespace": args["namespace"], "labels": meta_labels},
                spec={
                    "timeoutSec": _GCP_BACKEND_TIMEOUT_S,
                    "healthCheck": {"type": "HTTP", "requestPath": "/health", "port": SERVER_PORT},
                },
                opts=child,
            )
            svc = k8s.core.v1.Service(
                f"{name}-svc",
                metadata={
                    "namespace": args["namespace"],
                    "labels": meta_labels,
                    "annotations": {
                        "cloud.google.com/neg": '{"ingress": true}',
                        "cloud.google.com/backend-config": json.dumps({"default": f"{name}-backend"}),
                    },
                },
                spec={
                    "type": "ClusterIP",
                    "selector": args["selector"],
                    "ports": [{"name": "http", "port": 80, "target_port": SERVER_PORT}],
                },
                opts=child,
            )
            ingress_spec: Any = {"default_backend": {"service": {"name": svc.metadata.name, "port": {"number": 80}}}}
            ingress = k8s.networking.v1.Ingress(
                f"{name}-ingress",
                metadata={
                    "namespace": args["namespace"],
                    "labels": meta_labels,
                    "annotations": {
                        "kubernetes.io/ingress.class": "gce",
                        "kubernetes.io/ingress.allow-http": "false",
                        "networking.gke.io/managed-certificates": f"{name}-cert",
                    },
                },
                spec=ingress_spec,
                opts=child,
            )
            self.address = ingress.status.apply(_ingress_address)
            self.port = pulumi.Output.from_input(443)
        else:
            annotations, port = _service_annotations(cloud, exposure, args.get("tls_certificate_arn"))
            svc = k8s.core.v1.Service(
                f"{name}-svc",
                metadata={"namespace": args["namespace"], "labels": meta_labels, "annotations": annotations},
                spec={
                    "type": "LoadBalancer",
                    "selector": args["selector"],
                    "ports": [{"name": "http", "port": port, "target_port": SERVER_PORT}],
                },
                opts=child,
            )
            self.address = svc.status.apply(_service_address)
            self.port = pulumi.Output.from_input(port)
        self.register_outputs({"address": self.address, "port": self.port})


def _service_annotations(
    cloud: str, exposure: str, cert: pulumi.Input[str] | None
) -> tuple[dict[str, pulumi.Input[str]], int]:
    if cloud == "gcp":
        return {"networking.gke.io/load-balancer-type": "Internal"}, 80
    internal = exposure == "internal"
    annotations: dict[str, pulumi.Input[str]] = {
        # An NLB the in-tree controller can build; the scheme key is honoured by the AWS LB Controller too.
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" if internal else "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true" if internal else "false",
    }
    if internal:
        return annotations, 80
    assert cert is not None
    annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"] = cert
    annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"] = "443"
    annotations["service.beta.kubernetes.io/aws-load-balancer-backend-protocol"] = "tcp"
    return annotations, 443


def _service_address(status: Any) -> str:
    try:
        ingress = status.load_balancer.ingress or []
        return str(ingress[0].hostname or ingress[0].ip or "") if ingress else ""
    except AttributeError:
        return ""


def _ingress_address(status: Any) -> str:
    return _service_address(status)


class ServingAutoscalerArgs(TypedDict):
    """Inputs of a KEDA ScaledObject that scales a model server on vLLM's queue."""

    namespace: pulumi.Input[str]
    """Namespace of the scaled workload."""
    target_name: pulumi.Input[str]
    """Name of the Deployment or LeaderWorkerSet."""
    target_kind: str
    """Deployment or LeaderWorkerSet."""
    target_api_version: str
    """apps/v1 or leaderworkerset.x-k8s.io/v1."""
    served_model_name: str
    """Model name in vLLM's metrics labels."""
    min_replicas: int
    """Replicas never scaled below (the plan's replicasMin)."""
    max_replicas: int
    """Replicas never scaled above (the plan's replicasPeak)."""
    prometheus_url: NotRequired[str]
    """Prometheus that scrapes vLLM; defaults to the one ServingAddons installs."""
    waiting_requests_per_replica: NotRequired[float]
    """Target of `vllm:num_requests_waiting` per replica (default 5)."""
    kv_cache_usage_target: NotRequired[float]
    """Optional second trigger on mean KV-cache usage (0-1)."""
    scale_down_stabilization_seconds: NotRequired[int]
    """Window before scaling down (default 300)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ServingAutoscaler(pulumi.ComponentResource):
    """Scales a model server on waiting requests (and optionally KV-cache usage), never on CPU."""

    scaled_object_name: pulumi.Output[str]
    """Name of the KEDA ScaledObject."""

    def __init__(self, name: str, args: ServingAutoscalerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ServingAutoscaler", name, None, opts)
        comp = "ServingAutoscaler"
        lo = check_positive(comp, "min_replicas", args.get("min_replicas"))
        hi = check_positive(comp, "max_replicas", args.get("max_replicas"))
        if hi < lo:
            raise ValueError(f"{comp}: max_replicas={hi} is below min_replicas={lo}; allowed: max >= min")
        kind = check_choice(comp, "target_kind", args.get("target_kind"), ("Deployment", "LeaderWorkerSet"))
        window = check_positive(
            comp, "scale_down_stabilization_seconds", args.get("scale_down_stabilization_seconds", 300), minimum=0
        )
        waiting = float(args.get("waiting_requests_per_replica", 5.0))
        if waiting <= 0:
            raise ValueError(f"{comp}: waiting_requests_per_replica={waiting} is not valid; allowed: > 0")
        server = args.get("prometheus_url", PROMETHEUS_URL)
        model = args["served_model_name"]
        child = _child_opts(self, name, args.get("kubeconfig"), opts)
        triggers: list[dict[str, Any]] = [
            {
                "type": "prometheus",
                "name": "waiting-requests",
                "metadata": {
                    "serverAddress": server,
                    "query": f'sum(vllm:num_requests_waiting{{model_name="{model}"}})',
                    "threshold": f"{waiting:g}",
                },
            }
        ]
        kv = args.get("kv_cache_usage_target")
        if kv is not None:
            if not 0 < float(kv) <= 1:
                raise ValueError(f"{comp}: kv_cache_usage_target={kv} is not valid; allowed: 0-1")
            triggers.append(
                {
                    "type": "prometheus",
                    "name": "kv-cache-usage",
                    "metricType": "Value",
                    "metadata": {
                        "serverAddress": server,
                        # vLLM 0.11 names it kv_cache_usage_perc; older releases gpu_cache_usage_perc.
                        "query": f'avg(vllm:kv_cache_usage_perc{{model_name="{model}"}} '
                        f'or vllm:gpu_cache_usage_perc{{model_name="{model}"}})',
                        "threshold": f"{float(kv):g}",
                    },
                }
            )
        k8s.apiextensions.CustomResource(
            f"{name}-scaledobject",
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata={
                "name": name,
                "namespace": args["namespace"],
                "labels": {"app.kubernetes.io/part-of": "servestack"},
            },
            spec={
                "scaleTargetRef": {
                    "apiVersion": args["target_api_version"],
                    "kind": kind,
                    "name": args["target_name"],
                },
                "minReplicaCount": lo,
                "maxReplicaCount": hi,
                "pollingInterval": 15,
                "cooldownPeriod": window,
                "advanced": {
                    "horizontalPodAutoscalerConfig": {
                        "behavior": {
                            "scaleDown": {
                                "stabilizationWindowSeconds": window,
                                "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
                            },
                            "scaleUp": {"stabilizationWindowSeconds": 0},
                        }
                    }
                },
                "triggers": triggers,
            },
            opts=child,
        )
        self.scaled_object_name = pulumi.Output.from_input(name)
        self.register_outputs({"scaled_object_name": self.scaled_object_name})


def _release(
    resource_name: str,
    chart: tuple[str, str, str, str | None],
    namespace: str,
    values: dict[str, Any] | None,
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    """A pinned Helm chart installed into its own namespace."""
    release_name, chart_ref, version, repo = chart
    return k8s.helm.v3.Release(
        resource_name,
        name=release_name,
        chart=chart_ref,
        version=version,
        repository_opts={"repo": repo} if repo else None,
        namespace=namespace,
        create_namespace=True,
        values=values,
        opts=opts,
    )


class ServingAddonsArgs(TypedDict):
    """Inputs of the cluster add-ons a model deployment relies on."""

    leader_worker_set: NotRequired[bool]
    """Install the LeaderWorkerSet controller (multi-node replicas)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class ServingAddons(pulumi.ComponentResource):
    """KEDA, a Prometheus that scrapes vLLM, and (optionally) the LeaderWorkerSet controller."""

    prometheus_url: pulumi.Output[str]
    """In-cluster URL of the Prometheus server."""

    def __init__(self, name: str, args: ServingAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ServingAddons", name, None, opts)
        child = _child_opts(self, name, args.get("kubeconfig"), opts)
        system = {"servestack.io/pool": "system"}
        _release(f"{name}-keda", KEDA_CHART, "keda", {"nodeSelector": system}, child)
        _release(
            f"{name}-prometheus",
            PROMETHEUS_CHART,
            "servestack-monitoring",
            {
                "alertmanager": {"enabled": False},
                "prometheus-pushgateway": {"enabled": False},
                "prometheus-node-exporter": {"enabled": False},
                "kube-state-metrics": {"enabled": False},
                # No PersistentVolume: EKS has no EBS CSI driver or default StorageClass out of the box, so a
                # claim would leave Prometheus (and with it every KEDA trigger) Pending. Autoscaling reads only
                # the last minutes of samples, which a restart loses harmlessly.
                "server": {"nodeSelector": system, "retention": "7d", "persistentVolume": {"enabled": False}},
            },
            child,
        )
        if args.get("leader_worker_set", False):
            _release(f"{name}-lws", LWS_CHART, "lws-system", None, child)
        self.prometheus_url = pulumi.Output.from_input(PROMETHEUS_URL)
        self.register_outputs({"prometheus_url": self.prometheus_url})


class NvidiaDevicePluginArgs(TypedDict):
    """Inputs of the NVIDIA device plugin DaemonSet."""

    image: NotRequired[str]
    """Device plugin image with a version tag (default nvcr.io/nvidia/k8s-device-plugin:v0.17.1)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """Advertises `nvidia.com/gpu` on GPU nodes where the cloud does not (EKS AL2023 NVIDIA AMIs)."""

    daemon_set_name: pulumi.Output[str]
    """Name of the DaemonSet."""

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:NvidiaDevicePlugin", name, None, opts)
        try:
            image = check_image(args.get("image", DEVICE_PLUGIN_IMAGE))
        except ValueError as exc:
            raise ValueError(f"NvidiaDevicePlugin: {exc}") from None
        child = _child_opts(self, name, args.get("kubeconfig"), opts)
        labels = {"app.kubernetes.io/name": "nvidia-device-plugin", "app.kubernetes.io/part-of": "servestack"}
        ds_spec: Any = {
            "selector": {"match_labels": labels},
            "update_strategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priority_class_name": "system-node-critical",
                    "node_selector": {"servestack.io/gpu": "true"},
                    "tolerations": [{"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [
                        {
                            "name": "nvidia-device-plugin",
                            "image": image,
                            "env": [{"name": "FAIL_ON_INIT_ERROR", "value": "false"}],
                            "security_context": _restricted_container_security(),
                            "volume_mounts": [
                                {"name": "device-plugin", "mount_path": "/var/lib/kubelet/device-plugins"}
                            ],
                        }
                    ],
                    # The plugin registers through the kubelet's socket directory on the host.
                    "volumes": [{"name": "device-plugin", "host_path": {"path": "/var/lib/kubelet/device-plugins"}}],
                },
            },
        }
        ds = k8s.apps.v1.DaemonSet(
            f"{name}-ds", metadata={"namespace": "kube-system", "labels": labels}, spec=ds_spec, opts=child
        )
        self.daemon_set_name = ds.metadata.apply(lambda m: m.name or "")
        self.register_outputs({"daemon_set_name": self.daemon_set_name})
