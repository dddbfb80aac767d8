"""`ModelServer`: vLLM serving one model on GPU nodes, a Deployment or (multi-node replicas) a LeaderWorkerSet.

The server takes every deployment decision as an explicit argument (checkpoint, dtypes, cache size, startup
budget, pod size, EFA interfaces) from the deployment contract; it derives none of them. What it does decide is
how a pod carries them out: probes, waits, volumes, the gated-weights credential and the NCCL environment.
Annotations are evaluated at import (no `from __future__ import annotations`): the component provider host
reads them.
"""

import math
import re
import shlex
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from servestack.catalog import load_catalog
from servestack.components._common import ACCELERATOR_LABEL, GPU_TAINT_KEY, check_choice, check_positive
from servestack.components.config import DEFAULT_IMAGE, check_image
from servestack.components.kubernetes._shared import (
    PART_OF,
    SERVER_PORT,
    await_options,
    camelize,
    child_opts,
    restricted_container_security,
    restricted_pod_security,
    timeout_annotation,
)

__all__ = [
    "ModelServer",
    "ModelServerArgs",
    "server_await_timeouts",
    "server_await_timeout_s",
    "AWS_CLI_IMAGE",
    "GCLOUD_IMAGE",
    "HF_TOKEN_PATH",
    "SAFE_TO_EVICT",
]

AWS_CLI_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.32.9"
GCLOUD_IMAGE = "gcr.io/google.com/cloudsdktool/google-cloud-cli:562.0.0-slim"
_TOKEN_DIR = "/var/run/hf"
HF_TOKEN_PATH = f"{_TOKEN_DIR}/token"
"""Where the init container writes the Hugging Face token; huggingface_hub reads it through HF_TOKEN_PATH."""
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
GPU_RESOURCE = "nvidia.com/gpu"
_STARTUP_PERIOD_S = 10
_DEFAULT_NODE_LAUNCH_S = 600
_MIN_AWAIT_MARGIN_S = 300
_CPU_QUANTITY = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
_QUANTIZATION = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_GCP_SECRET = re.compile(r"^projects/[^/]+/secrets/[^/]+$")


class ModelServerArgs(TypedDict):
    """Inputs of a vLLM OpenAI-compatible model server (the deployment contract's decisions, taken as given)."""

    namespace: pulumi.Input[str]
    """Namespace of the server."""
    checkpoint: str
    """Hugging Face repository the pods download and serve (the pre-quantized release where the plan chose one)."""
    served_model_name: str
    """Model name clients put in requests."""
    accelerator: str
    """Canonical accelerator id; pods select nodes labelled with it."""
    accelerators_per_node: int
    """GPUs per node."""
    tensor_parallel: int
    """Tensor-parallel size (GPUs per node when a replica spans nodes)."""
    max_model_len: int
    """Longest prompt + output, tokens."""
    replicas: int
    """Initial replicas (the autoscaler's minimum, the floor the disruption budget keeps)."""
    dtype: str
    """vLLM --dtype: bfloat16 or float16."""
    kv_cache_dtype: str
    """vLLM --kv-cache-dtype: auto (the model dtype) or fp8 (only on parts with fp8: L4, L40S, H100, H200, B200)."""
    startup_budget_s: int
    """Seconds from pod scheduled to ready (image pull, weights download, load); sizes the startup probe."""
    pod_cpu: str
    """CPU request of each serving pod (a Kubernetes quantity, e.g. "44" or "7500m"); no CPU limit is set."""
    pod_memory_gib: int
    """Memory request and limit of each serving pod, GiB (covers /dev/shm, which is memory-backed)."""
    quantization: NotRequired[str]
    """vLLM --quantization (e.g. fp8 to quantize on load); absent for checkpoints that carry their own config."""
    cache_size_gib: NotRequired[int]
    """Size limit of the node-local weights cache per pod, GiB (default 100)."""
    node_launch_s: NotRequired[int]
    """Seconds a new GPU node takes to launch and join (default 600); part of how long `pulumi up` waits."""
    efa_interfaces: NotRequired[int]
    """EFA interfaces each pod requests (vpc.amazonaws.com/efa) for NCCL across nodes; 0 (default) for none."""
    hf_token_secret: NotRequired[pulumi.Input[str]]
    """Secret holding the Hugging Face token for gated checkpoints: an AWS Secrets Manager name, or a GCP Secret
    Manager id (with gcp_project) or projects/<p>/secrets/<id> (the form to use when it is an Output). The pods
    read it with their own identity; nothing is mounted without it."""
    cloud: NotRequired[str]
    """aws or gcp: the secret manager hf_token_secret lives in (required with hf_token_secret)."""
    region: NotRequired[str]
    """AWS region of hf_token_secret (required with hf_token_secret on aws)."""
    gcp_project: NotRequired[str]
    """GCP project of hf_token_secret when it is a bare secret id."""
    secret_reader_image: NotRequired[str]
    """Image of the init container that reads hf_token_secret (defaults: a pinned aws-cli / google-cloud-cli)."""
    service_account_name: NotRequired[str]
    """Kubernetes service account the pods run as, created here (the identity the cloud grants the secret to)."""
    service_account_annotations: NotRequired[pulumi.Input[dict[str, str]]]
    """Annotations of that service account (GKE: iam.gke.io/gcp-service-account)."""
    image: NotRequired[str]
    """vLLM image with a version tag or digest; defaults to vllm/vllm-openai:v0.11.0."""
    gpu_memory_utilization: NotRequired[float]
    """Fraction of GPU memory vLLM may use (default 0.90)."""
    nodes_per_replica: NotRequired[int]
    """Nodes one replica spans; above 1 uses a LeaderWorkerSet with pipeline parallelism across nodes."""
    cache_storage_class: NotRequired[str]
    """Storage class of a per-pod cache claim; when absent the cache is an emptyDir on the node's root volume."""
    shm_size_gib: NotRequired[int]
    """Size of the /dev/shm memory volume, GiB (default 2 per GPU of the pod, at most a quarter of its memory)."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig of the target cluster; the ambient provider when absent."""
    node_selector: NotRequired[dict[str, str]]
    """Node labels the pods select besides the accelerator's (a fleet's pool label: each server on its own pool)."""


def server_await_timeouts(node_launch_s: int, startup_budget_s: int, replicas: int = 1) -> tuple[int, int]:
    """(create, update) seconds `pulumi up` waits for the serving workload.

    Create: a GPU node launches and joins, then the pod pulls its image, downloads and loads the weights; all
    replicas start in parallel. Update: the rollout replaces one replica at a time (maxSurge 0: no spare GPUs),
    each new pod starting cold on an empty cache. Both get 10% (at least 5 minutes) of margin, so a slow but
    healthy start is not reported as a failed `up`.
    """
    create = node_launch_s + startup_budget_s
    update = node_launch_s + max(1, replicas) * startup_budget_s
    return _with_margin(create), _with_margin(update)


def server_await_timeout_s(node_launch_s: int, startup_budget_s: int) -> int:
    """How long a load balancer in front of the server waits for an address and ready endpoints (create)."""
    return server_await_timeouts(node_launch_s, startup_budget_s)[0]


def _with_margin(seconds: int) -> int:
    return seconds + max(_MIN_AWAIT_MARGIN_S, seconds // 10)


def _accelerator_has(accelerator: str, path: str) -> bool:
    """Whether the catalog's datasheet gives the part a tensor path (`bf16` or `fp8`); unknown parts pass."""
    facts = load_catalog().accelerators.get(accelerator)
    if facts is None:
        return True
    return (facts.fp8_tflops if path == "fp8" else facts.bf16_tflops) is not None


class _Checked:
    """ModelServer's arguments, validated, with the defaults applied."""

    def __init__(self, args: ModelServerArgs) -> None:
        comp = "ModelServer"
        try:
            self.image = check_image(args.get("image", DEFAULT_IMAGE))
        except ValueError as exc:
            raise ValueError(f"{comp}: {exc}") from None
        self.gpus = check_positive(comp, "accelerators_per_node", args.get("accelerators_per_node"))
        self.tp = check_positive(comp, "tensor_parallel", args.get("tensor_parallel"))
        self.span = check_positive(comp, "nodes_per_replica", args.get("nodes_per_replica", 1))
        self.max_len = check_positive(comp, "max_model_len", args.get("max_model_len"), minimum=16)
        self.replicas = check_positive(comp, "replicas", args.get("replicas"))
        self.cache_gib = check_positive(comp, "cache_size_gib", args.get("cache_size_gib", 100))
        self.cache_class = args.get("cache_storage_class")
        self.startup_budget_s = check_positive(comp, "startup_budget_s", args.get("startup_budget_s"), minimum=60)
        self.node_launch_s = check_positive(
            comp, "node_launch_s", args.get("node_launch_s", _DEFAULT_NODE_LAUNCH_S), minimum=0
        )
        self.efa = check_positive(comp, "efa_interfaces", args.get("efa_interfaces", 0), minimum=0)
        self.memory_gib = check_positive(comp, "pod_memory_gib", args.get("pod_memory_gib"))
        cpu = args.get("pod_cpu")
        if not isinstance(cpu, str) or not _CPU_QUANTITY.match(cpu) or _cpu_millis(cpu) <= 0:
            raise ValueError(f"{comp}: pod_cpu={cpu!r} is not valid; allowed: a CPU quantity such as '44' or '7500m'")
        self.cpu = cpu
        accelerator = args.get("accelerator")
        if not isinstance(accelerator, str) or not accelerator:
            raise ValueError(f"{comp}: accelerator={accelerator!r} is not valid; allowed: a canonical id such as L40S")
        self.accelerator = accelerator
        self.node_selector = {str(k): str(v) for k, v in (args.get("node_selector") or {}).items()}
        self.dtype = check_choice(comp, "dtype", args.get("dtype"), ("bfloat16", "float16"))
        if self.dtype == "bfloat16" and not _accelerator_has(accelerator, "bf16"):
            # vLLM refuses bfloat16 on parts without a bf16 tensor path (T4).
            raise ValueError(f"{comp}: dtype=bfloat16 is not supported on {accelerator}; allowed: float16")
        self.kv_cache_dtype = check_choice(comp, "kv_cache_dtype", args.get("kv_cache_dtype"), ("auto", "fp8"))
        if self.kv_cache_dtype == "fp8" and not _accelerator_has(accelerator, "fp8"):
            # Below SM 8.9 vLLM sends an fp8 KV cache down a path that cannot run it; the engine crash-loops.
            raise ValueError(
                f"{comp}: kv_cache_dtype=fp8 is not supported on {accelerator} (no fp8 tensor path); allowed: auto "
                "(fp8 KV runs on L4, L40S, H100, H200, B200)"
            )
        quantization = args.get("quantization")
        if quantization is not None and (not isinstance(quantization, str) or not _QUANTIZATION.match(quantization)):
            raise ValueError(
                f"{comp}: quantization={quantization!r} is not valid; allowed: a vLLM method name such as fp8 or awq"
            )
        self.quantization = quantization
        util = float(args.get("gpu_memory_utilization", 0.90))
        if not 0.1 <= util <= 0.99:
            raise ValueError(f"{comp}: gpu_memory_utilization={util} is not valid; allowed: 0.1-0.99")
        self.util = util
        if self.tp > self.gpus * self.span or (self.span == 1 and self.tp > self.gpus):
            raise ValueError(
                f"{comp}: tensor_parallel={self.tp} exceeds the GPUs of one replica ({self.gpus} x {self.span} nodes)"
            )
        checkpoint = args.get("checkpoint")
        if not isinstance(checkpoint, str) or not checkpoint.strip():
            raise ValueError(f"{comp}: checkpoint={checkpoint!r} is not valid; allowed: a Hugging Face repository id")
        self.checkpoint = checkpoint
        # A single-node replica takes only its tensor-parallel GPUs, so replicas can share a node the way the
        # plan packs them (nodes = replicas / (GPUs per node // tensor_parallel)).
        self.pod_gpus = self.tp if self.span == 1 else self.gpus
        # NCCL and vLLM's worker queues live in /dev/shm; tmpfs pages count against the pod's memory limit.
        default_shm = min(2 * self.pod_gpus, max(1, self.memory_gib // 4))
        self.shm_gib = check_positive(comp, "shm_size_gib", args.get("shm_size_gib", default_shm))
        if self.shm_gib >= self.memory_gib:
            raise ValueError(
                f"{comp}: shm_size_gib={self.shm_gib} leaves nothing of pod_memory_gib={self.memory_gib}; "
                "allowed: less than pod_memory_gib"
            )
        self.secret = args.get("hf_token_secret")
        self.service_account = args.get("service_account_name")
        self.secret_reader: dict[str, Any] | None = None
        if self.secret is not None:
            self.secret_reader = _secret_reader(comp, args)
            if not self.service_account:
                raise ValueError(
                    f"{comp}: hf_token_secret needs service_account_name (the identity allowed to read the secret)"
                )


def _cpu_millis(quantity: str) -> float:
    return float(quantity[:-1]) if quantity.endswith("m") else float(quantity) * 1000


def _secret_reader(comp: str, args: ModelServerArgs) -> dict[str, Any]:
    """An init container that copies the Hugging Face token from the cloud's secret manager into memory.

    The secret name travels as an environment variable, never inside the shell text, and the file is written
    with umask 077 into a memory-backed emptyDir that only this pod mounts. No Kubernetes Secret holds the
    token and Pulumi state never sees it: the pod's own cloud identity reads it at start.
    """
    cloud = check_choice(comp, "cloud", args.get("cloud"), ("aws", "gcp"))
    secret = args["hf_token_secret"]
    env: list[dict[str, Any]] = [{"name": "HF_TOKEN_SECRET", "value": secret}, {"name": "HOME", "value": "/tmp"}]
    if cloud == "aws":
        region = args.get("region")
        if not isinstance(region, str) or not region:
            raise ValueError(f"{comp}: hf_token_secret on aws needs region (the secret's region)")
        env.append({"name": "AWS_REGION", "value": region})
        image = args.get("secret_reader_image", AWS_CLI_IMAGE)
        script = (
            'umask 077 && aws secretsmanager get-secret-value --secret-id "$HF_TOKEN_SECRET" '
            f"--query SecretString --output text > {HF_TOKEN_PATH}"
        )
    else:
        project = args.get("gcp_project")
        if isinstance(secret, str) and not _GCP_SECRET.match(secret):
            if not project:
                raise ValueError(
                    f"{comp}: hf_token_secret={secret!r} on gcp needs gcp_project, or the form "
                    "projects/<project>/secrets/<id>"
                )
            env[0] = {"name": "HF_TOKEN_SECRET", "value": f"projects/{project}/secrets/{secret}"}
        # gcloud keeps its configuration under CLOUDSDK_CONFIG; the default lives in a HOME the UID cannot own.
        env.append({"name": "CLOUDSDK_CONFIG", "value": "/tmp/gcloud"})
        image = args.get("secret_reader_image", GCLOUD_IMAGE)
        script = (
            f'umask 077 && gcloud secrets versions access "$HF_TOKEN_SECRET/versions/latest" --quiet > {HF_TOKEN_PATH}'
        )
    try:
        image = check_image(image)
    except ValueError as exc:
        raise ValueError(f"{comp}: secret_reader_image: {exc}") from None
    return {
        "name": "hf-token",
        "image": image,
        "command": ["sh", "-c", script],
        "env": env,
        "security_context": restricted_container_security(),
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "256Mi"}},
        "volume_mounts": [{"name": "hf-token", "mount_path": _TOKEN_DIR}],
    }


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
        c = _Checked(args)
        child = child_opts(self, name, args.get("kubeconfig"), opts)
        namespace = args["namespace"]
        labels = {"app.kubernetes.io/name": name, **PART_OF}
        create_s, update_s = server_await_timeouts(c.node_launch_s, c.startup_budget_s, c.replicas)
        # KEDA owns the replica count after creation.
        workload_opts = await_options(child, create_s, update_s, ignore_changes=["spec.replicas"])
        workload_annotations = timeout_annotation(create_s)

        service_account: pulumi.Input[str] | None = None
        if c.service_account:
            sa = k8s.core.v1.ServiceAccount(
                f"{name}-sa",
                metadata={
                    "name": c.service_account,
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": args.get("service_account_annotations", {}),
                },
                # The serving pods never call the Kubernetes API; cloud identity comes from its own projected token.
                automount_service_account_token=False,
                opts=child,
            )
            service_account = sa.metadata.apply(lambda m: m.name or "")

        serve = _serve_command(c, args["served_model_name"])
        pod = _PodParts(name=name, checked=c, service_account=service_account)
        if c.span == 1:
            deployment_spec: Any = {
                "replicas": c.replicas,
                "selector": {"match_labels": labels},
                "strategy": {"type": "RollingUpdate", "rolling_update": {"max_surge": 0, "max_unavailable": 1}},
                "template": {
                    "metadata": {"labels": labels, "annotations": _pod_annotations(scrape=True)},
                    "spec": pod.spec(serve, probes=True),
                },
            }
            workload = k8s.apps.v1.Deployment(
                f"{name}-workload",
                metadata={"namespace": namespace, "labels": labels, "annotations": workload_annotations},
                spec=deployment_spec,
                opts=workload_opts,
            )
            self.workload_name = workload.metadata.apply(lambda m: m.name or "")
            self.workload_kind = pulumi.Output.from_input("Deployment")
            self.workload_api_version = pulumi.Output.from_input("apps/v1")
            selector = labels
            budget_selector, floor = labels, c.replicas
        else:
            leader_cmd = _leader_command(serve, c.span)
            k8s.apiextensions.CustomResource(
                f"{name}-workload",
                api_version="leaderworkerset.x-k8s.io/v1",
                kind="LeaderWorkerSet",
                # Custom resources are not auto-named by the provider; the component name is unique per stack.
                metadata={"name": name, "namespace": namespace, "labels": labels, "annotations": workload_annotations},
                spec={
                    "replicas": c.replicas,
                    "startupPolicy": "LeaderCreated",
                    "leaderWorkerTemplate": {
                        "size": c.span,
                        "restartPolicy": "RecreateGroupOnPodRestart",
                        "leaderTemplate": {
                            "metadata": {
                                "labels": {**labels, "role": "leader"},
                                "annotations": _pod_annotations(scrape=True),
                            },
                            "spec": camelize(pod.spec(["sh", "-c", leader_cmd], probes=True)),
                        },
                        "workerTemplate": {
                            "metadata": {
                                "labels": {**labels, "role": "worker"},
                                "annotations": _pod_annotations(scrape=False),
                            },
                            "spec": camelize(pod.spec(["sh", "-c", _WORKER_COMMAND], probes=False)),
                        },
                    },
                },
                opts=workload_opts,
            )
            self.workload_name = pulumi.Output.from_input(name)
            self.workload_kind = pulumi.Output.from_input("LeaderWorkerSet")
            self.workload_api_version = pulumi.Output.from_input("leaderworkerset.x-k8s.io/v1")
            selector = {**labels, "role": "leader"}
            # Losing any pod of a group restarts the whole group, so the budget counts every pod of it.
            budget_selector, floor = labels, c.replicas * c.span

        if c.replicas > 1:
            # Serving pods are safe-to-evict so the autoscaler can empty burst nodes; this keeps the planned floor
            # up while it does (and while nodes drain), allowing evictions only of replicas above it.
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"namespace": namespace, "labels": labels},
                spec={"min_available": floor, "selector": {"match_labels": budget_selector}},
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


def _serve_command(c: _Checked, served_model_name: str) -> list[str]:
    # No --task/--runner flag: vLLM (0.10+) picks the pooling runner for embedding architectures itself
    # (--runner auto), and --task is deprecated; a measured embedding model is served from its repository.
    serve = [
        "vllm",
        "serve",
        c.checkpoint,
        "--served-model-name",
        served_model_name,
        "--port",
        str(SERVER_PORT),
        "--max-model-len",
        str(c.max_len),
        "--gpu-memory-utilization",
        f"{c.util:.2f}",
        "--dtype",
        c.dtype,
        # Explicit even when auto, so the pod spec shows what the plan sized the KV cache for.
        "--kv-cache-dtype",
        c.kv_cache_dtype,
    ]
    if c.quantization is not None:
        serve += ["--quantization", c.quantization]
    if c.span == 1:
        serve += ["--tensor-parallel-size", str(c.tp)]
    else:
        serve += [
            "--tensor-parallel-size",
            str(c.gpus),
            "--pipeline-parallel-size",
            str(c.span),
            "--distributed-executor-backend",
            "ray",
        ]
    return serve


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


def _pod_annotations(*, scrape: bool) -> dict[str, str]:
    # The weights cache is an emptyDir, which the cluster autoscaler treats as local data it must not lose: without
    # this a burst GPU node never scales down. The data is a re-downloadable cache; the PDB guards the floor.
    annotations = {SAFE_TO_EVICT: "true"}
    if scrape:
        annotations.update(
            {"prometheus.io/scrape": "true", "prometheus.io/port": str(SERVER_PORT), "prometheus.io/path": "/metrics"}
        )
    return annotations


# NCCL over EFA through the aws-ofi-nccl plugin (the image must ship libfabric and the plugin; docs/serving.md).
# Fork safety: Ray and vLLM fork workers after libfabric registered memory. No huge pages: the pods request none.
_EFA_ENV = [
    {"name": "FI_PROVIDER", "value": "efa"},
    {"name": "FI_EFA_USE_DEVICE_RDMA", "value": "1"},
    {"name": "FI_EFA_FORK_SAFE", "value": "1"},
    {"name": "FI_EFA_USE_HUGE_PAGE", "value": "0"},
]


class _PodParts:
    """The pod template shared by Deployment pods, LWS leaders and LWS workers."""

    def __init__(self, *, name: str, checked: _Checked, service_account: pulumi.Input[str] | None) -> None:
        self.name, self.c, self.service_account = name, checked, service_account

    def _env(self) -> list[dict[str, Any]]:
        env: list[dict[str, Any]] = [
            {"name": "HF_HOME", "value": "/models/hf"},
            {"name": "XDG_CACHE_HOME", "value": "/models/cache"},
            {"name": "HOME", "value": "/tmp"},
            # The image has no passwd entry for the pod's UID; torch's compile cache calls getpass.getuser() at
            # import, which falls back to getpwuid() and raises KeyError unless USER is set.
            {"name": "USER", "value": "vllm"},
        ]
        if self.c.secret_reader is not None:
            env.append({"name": "HF_TOKEN_PATH", "value": HF_TOKEN_PATH})
        if self.c.efa > 0:
            env += _EFA_ENV
        return env

    def _resources(self) -> dict[str, Any]:
        c = self.c
        devices = {GPU_RESOURCE: str(c.pod_gpus)}
        if c.efa > 0:
            devices[EFA_RESOURCE] = str(c.efa)
        memory = f"{c.memory_gib}Gi"
        # Requests keep the pod out of the first evictions under node pressure and reserve room for the loader;
        # the memory limit equals the request (no overcommit, no surprise OOM kill of a neighbour); no CPU limit,
        # so tokenization and scheduling threads are never throttled (CFS quotas add tail latency).
        return {"requests": {"cpu": c.cpu, "memory": memory, **devices}, "limits": {"memory": memory, **devices}}

    def spec(self, command: list[str], *, probes: bool) -> dict[str, Any]:
        """Pod spec with the SDK's snake_case names (camelize it for CustomResource bodies)."""
        c = self.c
        health = {"http_get": {"path": "/health", "port": SERVER_PORT}}
        mounts: list[dict[str, Any]] = [
            {"name": "dshm", "mount_path": "/dev/shm"},
            {"name": "model-cache", "mount_path": "/models"},
        ]
        if c.secret_reader is not None:
            mounts.append({"name": "hf-token", "mount_path": _TOKEN_DIR, "read_only": True})
        container: dict[str, Any] = {
            "name": "vllm",
            "image": c.image,
            "command": command,
            "env": self._env(),
            "ports": [{"name": "http", "container_port": SERVER_PORT}],
            "resources": self._resources(),
            "security_context": restricted_container_security(),
            "volume_mounts": mounts,
        }
        if probes:
            # The startup probe holds the other two off until the weights are downloaded and loaded; its window
            # covers the contract's startup budget. /health can stall for seconds while the engine is busy, so the
            # probes give it 5-10 s instead of the 1 s default.
            container["startup_probe"] = {
                **health,
                "period_seconds": _STARTUP_PERIOD_S,
                "timeout_seconds": 5,
                "failure_threshold": math.ceil(c.startup_budget_s / _STARTUP_PERIOD_S),
            }
            container["readiness_probe"] = {**health, "period_seconds": 5, "timeout_seconds": 5, "failure_threshold": 3}
            container["liveness_probe"] = {
                **health,
                "period_seconds": 15,
                "timeout_seconds": 10,
                "failure_threshold": 4,
            }
        cache: dict[str, Any]
        if c.cache_class:
            claim = {
                "access_modes": ["ReadWriteOnce"],
                "storage_class_name": c.cache_class,
                "resources": {"requests": {"storage": f"{c.cache_gib}Gi"}},
            }
            cache = {"name": "model-cache", "ephemeral": {"volume_claim_template": {"spec": claim}}}
        else:
            # The node's root volume is sized by the plan to hold the cached weights; a claim on the cluster's
            # default class would stay Pending on EKS, which ships no EBS CSI driver or default StorageClass.
            cache = {"name": "model-cache", "empty_dir": {"size_limit": f"{c.cache_gib}Gi"}}
        volumes: list[dict[str, Any]] = [
            {"name": "dshm", "empty_dir": {"medium": "Memory", "size_limit": f"{c.shm_gib}Gi"}},
            # Lives as long as the pod: container restarts keep the downloaded weights.
            cache,
        ]
        spec: dict[str, Any] = {
            "containers": [container],
            "security_context": restricted_pod_security(),
            "automount_service_account_token": False,
            "termination_grace_period_seconds": 60,
            "node_selector": {ACCELERATOR_LABEL: c.accelerator, **c.node_selector},
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
            "volumes": volumes,
        }
        if self.service_account is not None:
            spec["service_account_name"] = self.service_account
        if c.secret_reader is not None:
            spec["init_containers"] = [c.secret_reader]
            # Memory-backed and tiny: the token never touches the node's disk.
            volumes.append({"name": "hf-token", "empty_dir": {"medium": "Memory", "size_limit": "1Mi"}})
        return spec
