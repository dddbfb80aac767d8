"""What a real `pulumi up` needs from the Kubernetes components: waits, pod size, eviction, gated weights, EFA."""

from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks as pmocks

from servestack.components.kubernetes import (
    ModelLoadBalancer,
    ModelServer,
    ModelServerArgs,
    NvidiaDevicePlugin,
    ServingAddons,
    server_await_timeout_s,
    server_await_timeouts,
)
from servestack.versions import ADDON_VERSIONS, DEFAULT_KUBERNETES_VERSION
from tests.components.conftest import Graph, Recorded, RecordingMonitor, ServestackMocks

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"
SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"
PROVIDER_DEFAULT_WAIT_S = 600  # what the Kubernetes provider waits for a Deployment or Service without a timeout


class _TimeoutsMonitor(RecordingMonitor):
    """Also records each resource's customTimeouts (seconds), which the inputs do not carry."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.timeouts: dict[str, dict[str, str]] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the engine's RPC name
        response = super().RegisterResource(request)
        t = request.customTimeouts
        self.timeouts[response.urn] = {"create": t.create, "update": t.update}
        return response


class Run:
    def __init__(self, graph: Graph, timeouts: dict[str, dict[str, str]]) -> None:
        self.graph, self._timeouts = graph, timeouts

    def timeout_s(self, r: Recorded, op: str = "create") -> int:
        """The resource's custom timeout in seconds; the provider default when none is set."""
        text = self._timeouts[r.urn][op]
        if not text:
            return PROVIDER_DEFAULT_WAIT_S
        assert text.endswith("m"), f"{r.urn}: {text}"
        return int(text[:-1]) * 60


@pytest.fixture
def run() -> Iterator[Callable[[Callable[[], Any]], Run]]:
    def go(body: Callable[[], Any]) -> Run:
        monitor = _TimeoutsMonitor(ServestackMocks())
        pulumi.runtime.set_all_config({})
        pulumi.runtime.set_mocks(ServestackMocks(), project="servestack", stack="t", preview=False, monitor=monitor)

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def program() -> None:
            body()

        program()
        return Run(Graph(monitor.recorded), monitor.timeouts)

    yield go


def _args(**overrides: Any) -> ModelServerArgs:
    args: dict[str, Any] = {
        "namespace": "chat",
        "checkpoint": "meta-llama/Llama-3.1-70B-Instruct",
        "served_model_name": "chat-70b",
        "accelerator": "H100",
        "accelerators_per_node": 8,
        "tensor_parallel": 4,
        "max_model_len": 8192,
        "replicas": 2,
        "dtype": "bfloat16",
        "kv_cache_dtype": "fp8",
        "startup_budget_s": 3000,
        "node_launch_s": 480,
        "pod_cpu": "90",
        "pod_memory_gib": 900,
    }
    args.update(overrides)
    return args  # type: ignore[return-value]


def _multi_node(**overrides: Any) -> ModelServerArgs:
    return _args(**{"tensor_parallel": 16, "nodes_per_replica": 2, "replicas": 1, **overrides})


def _pod(g: Graph) -> dict[str, Any]:
    spec: dict[str, Any] = g.one(DEPLOYMENT).inputs["spec"]["template"]
    return spec


def _lws_templates(g: Graph) -> dict[str, dict[str, Any]]:
    template = g.one(LWS).inputs["spec"]["leaderWorkerTemplate"]
    return {"leader": template["leaderTemplate"], "worker": template["workerTemplate"]}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


# --- waits -------------------------------------------------------------------------------------------------


def test_workload_waits_for_node_launch_plus_startup_budget(run: Callable[..., Run]) -> None:
    # A 70B cold start (node launch, image pull, weights download, load) outlasts the provider's 10 minutes.
    r = run(lambda: ModelServer("chat", _args()))
    dep = r.graph.one(DEPLOYMENT)
    assert r.timeout_s(dep) >= 480 + 3000, dep.urn
    # A rollout replaces the two replicas one after the other, each starting cold.
    assert r.timeout_s(dep, "update") >= 480 + 2 * 3000, dep.urn
    # The same wait as the annotation the provider honours (and packs read when options are not visible).
    assert int(dep.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) == r.timeout_s(dep)


def test_multi_node_workload_waits_as_long(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("big", _multi_node()))
    lws = r.graph.one(LWS)
    assert r.timeout_s(lws) >= 480 + 3000, lws.urn
    assert int(lws.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) == r.timeout_s(lws)


def test_wait_covers_the_startup_probe_window(run: Callable[..., Run]) -> None:
    # The guardrail compares the wait with the startup probe's window; a wait shorter than the probe reports a
    # healthy-but-slow start as a failed `up`.
    r = run(lambda: ModelServer("chat", _args(startup_budget_s=7777)))
    dep = r.graph.one(DEPLOYMENT)
    probe = _pod(r.graph)["spec"]["containers"][0]["startupProbe"]
    assert r.timeout_s(dep) >= probe.get("initialDelaySeconds", 0) + probe["failureThreshold"] * probe["periodSeconds"]


def test_await_timeouts_keep_a_margin() -> None:
    create, update = server_await_timeouts(600, 3000, replicas=3)
    assert create >= 3600 + 300 and update >= 600 + 3 * 3000 + 300
    assert server_await_timeout_s(600, 3000) == create


@pytest.mark.parametrize(
    ("cloud", "extra"),
    [
        ("aws", {}),
        ("aws", {"exposure": "public", "tls_certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x"}),
        ("gcp", {}),
    ],
)
def test_load_balancer_service_waits_for_the_cold_start(
    run: Callable[..., Run], cloud: str, extra: dict[str, Any]
) -> None:
    # The provider waits until a selecting Service has ready endpoints (and an address): as long as the server.
    wait = server_await_timeout_s(480, 3000)
    args: Any = {"namespace": "c", "selector": {"a": "b"}, "cloud": cloud, "await_timeout_s": wait, **extra}
    r = run(lambda: ModelLoadBalancer("lb", args))
    svc = r.graph.one(SERVICE)
    assert r.timeout_s(svc) >= wait and r.timeout_s(svc, "update") >= wait, svc.urn
    assert int(svc.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) >= wait


def test_public_gcp_ingress_and_its_service_wait_for_the_cold_start(run: Callable[..., Run]) -> None:
    args: Any = {
        "namespace": "c",
        "selector": {"a": "b"},
        "cloud": "gcp",
        "exposure": "public",
        "tls_domain": "chat.example.com",
        "await_timeout_s": 4000,
    }
    r = run(lambda: ModelLoadBalancer("lb", args))
    for res in (r.graph.one(SERVICE), r.graph.one("kubernetes:networking.k8s.io/v1:Ingress")):
        assert r.timeout_s(res) >= 4000, res.urn


def test_public_aws_load_balancer_serves_no_plain_http(run: Callable[..., Run]) -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    args: Any = {"namespace": "c", "selector": {"a": "b"}, "cloud": "aws", "exposure": "public"}
    r = run(lambda: ModelLoadBalancer("lb", {**args, "tls_certificate_arn": arn}))
    svc = r.graph.one(SERVICE)
    tls_ports = svc.inputs["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-ssl-ports"]
    assert {str(int(p["port"])) for p in svc.inputs["spec"]["ports"]} <= set(tls_ports.split(","))


# --- pod size, probes, eviction ---------------------------------------------------------------------------


def test_serving_pod_requests_cpu_and_memory_with_a_memory_limit_and_no_cpu_limit(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("chat", _args()))
    resources = _pod(r.graph)["spec"]["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "90", "memory": "900Gi", "nvidia.com/gpu": "4"}
    assert resources["limits"]["memory"] == resources["requests"]["memory"]
    assert "cpu" not in resources["limits"]


def test_every_multi_node_pod_requests_cpu_and_memory(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("big", _multi_node()))
    for role, template in _lws_templates(r.graph).items():
        requests = template["spec"]["containers"][0]["resources"]["requests"]
        assert requests["cpu"] == "90" and requests["memory"] == "900Gi", role


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"pod_cpu": "lots"}, "pod_cpu='lots' is not valid"),
        ({"pod_cpu": "0"}, "pod_cpu='0' is not valid"),
        ({"pod_memory_gib": 0}, "pod_memory_gib=0 is not valid"),
        ({"startup_budget_s": 5}, "startup_budget_s=5 is not valid"),
        ({"kv_cache_dtype": "int8"}, "kv_cache_dtype='int8' is not valid; allowed: auto, fp8"),
        ({"dtype": "fp32"}, "dtype='fp32' is not valid; allowed: bfloat16, float16"),
        ({"shm_size_gib": 900}, "shm_size_gib=900 leaves nothing of pod_memory_gib=900"),
    ],
)
def test_bad_pod_arguments_name_the_field(run: Callable[..., Run], overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="ModelServer: ") as info:
        run(lambda: ModelServer("chat", _args(**overrides)))
    assert message in str(info.value)


def test_probes_use_health_with_sane_timeouts(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("chat", _args()))
    container = _pod(r.graph)["spec"]["containers"][0]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health", probe
        assert 5 <= container[probe]["timeoutSeconds"] <= 10, probe
    assert container["readinessProbe"]["failureThreshold"] == 3


def test_serving_pods_are_safe_to_evict_and_a_budget_keeps_the_floor(run: Callable[..., Run]) -> None:
    # Burst GPU nodes hold an emptyDir cache; without the annotation the cluster autoscaler never removes them.
    r = run(lambda: ModelServer("chat", _args(replicas=3)))
    assert _pod(r.graph)["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true"
    pdb = r.graph.one("kubernetes:policy/v1:PodDisruptionBudget")
    assert pdb.inputs["spec"]["minAvailable"] == 3


def test_multi_node_pods_are_safe_to_evict_and_the_budget_counts_whole_groups(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("big", _multi_node(replicas=2)))
    for role, template in _lws_templates(r.graph).items():
        assert template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"] == "true", role
    pdb = r.graph.one("kubernetes:policy/v1:PodDisruptionBudget")
    assert pdb.inputs["spec"]["minAvailable"] == 4
    assert "role" not in pdb.inputs["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize(("tp", "memory", "shm"), [(1, 60, "2Gi"), (4, 300, "8Gi"), (8, 900, "16Gi"), (8, 40, "10Gi")])
def test_shared_memory_grows_with_tensor_parallel_within_the_pod_memory(
    run: Callable[..., Run], tp: int, memory: int, shm: str
) -> None:
    r = run(lambda: ModelServer("chat", _args(tensor_parallel=tp, pod_memory_gib=memory)))
    volumes = {v["name"]: v for v in _pod(r.graph)["spec"]["volumes"]}
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": shm}


# --- gated weights ----------------------------------------------------------------------------------------


def test_without_a_token_secret_nothing_is_mounted(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("chat", _args()))
    spec = _pod(r.graph)["spec"]
    assert "initContainers" not in spec
    assert "hf-token" not in {v["name"] for v in spec["volumes"]}
    assert not any(k.startswith("HF_TOKEN") for k in _env(spec["containers"][0]))
    assert not r.graph.of("kubernetes:core/v1:Secret")


def test_aws_token_secret_is_read_by_the_pod_identity_into_memory(run: Callable[..., Run]) -> None:
    args = _args(hf_token_secret="hf/llama", cloud="aws", region="us-west-2", service_account_name="chat-server")
    r = run(lambda: ModelServer("chat", args))
    spec = _pod(r.graph)["spec"]
    (init,) = spec["initContainers"]
    assert init["image"].startswith("public.ecr.aws/aws-cli/aws-cli:2.")
    assert "aws secretsmanager get-secret-value" in init["command"][2]
    # The secret's name travels as data, never spliced into the shell text.
    assert "hf/llama" not in init["command"][2] and _env(init)["HF_TOKEN_SECRET"] == "hf/llama"
    assert _env(init)["AWS_REGION"] == "us-west-2"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["hf-token"]["emptyDir"]["medium"] == "Memory"
    server = spec["containers"][0]
    token_mount = next(m for m in server["volumeMounts"] if m["name"] == "hf-token")
    assert token_mount["readOnly"] is True
    assert _env(server)["HF_TOKEN_PATH"].startswith(token_mount["mountPath"] + "/")
    assert spec["serviceAccountName"] == "chat-server"
    assert init["securityContext"]["allowPrivilegeEscalation"] is False
    # No Kubernetes Secret and no token value anywhere in Pulumi's inputs.
    assert not r.graph.of("kubernetes:core/v1:Secret")


def test_gcp_token_secret_uses_workload_identity(run: Callable[..., Run]) -> None:
    annotations = {"iam.gke.io/gcp-service-account": "chat-server@p.iam.gserviceaccount.com"}
    args = _args(
        hf_token_secret="hf-token",
        cloud="gcp",
        gcp_project="acme",
        service_account_name="chat-server",
        service_account_annotations=annotations,
    )
    r = run(lambda: ModelServer("chat", args))
    (init,) = _pod(r.graph)["spec"]["initContainers"]
    assert init["image"].startswith("gcr.io/google.com/cloudsdktool/google-cloud-cli:")
    assert "gcloud secrets versions access" in init["command"][2]
    assert _env(init)["HF_TOKEN_SECRET"] == "projects/acme/secrets/hf-token"
    sa = r.graph.one("kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"]["name"] == "chat-server"
    assert sa.inputs["metadata"]["annotations"] == annotations


def test_multi_node_workers_read_the_token_too(run: Callable[..., Run]) -> None:
    # Every node of a multi-node replica downloads its own copy of the weights.
    args = _multi_node(hf_token_secret="hf/llama", cloud="aws", region="us-west-2", service_account_name="s")
    r = run(lambda: ModelServer("big", args))
    for role, template in _lws_templates(r.graph).items():
        assert template["spec"]["initContainers"][0]["name"] == "hf-token", role
        assert template["spec"]["serviceAccountName"] == "s", role


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cloud": "aws", "region": "us-west-2"}, "hf_token_secret needs service_account_name"),
        ({"cloud": "aws", "service_account_name": "s"}, "hf_token_secret on aws needs region"),
        ({"service_account_name": "s"}, "cloud=None is not valid; allowed: aws, gcp"),
        ({"cloud": "gcp", "service_account_name": "s"}, "needs gcp_project, or the form projects/"),
    ],
)
def test_token_secret_without_what_reads_it_is_refused(
    run: Callable[..., Run], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="ModelServer: ") as info:
        run(lambda: ModelServer("chat", _args(hf_token_secret="hf/llama", **overrides)))
    assert message in str(info.value)


# --- EFA ----------------------------------------------------------------------------------------------------


def test_multi_node_pods_request_efa_and_point_nccl_at_it(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("big", _multi_node(efa_interfaces=32)))
    for role, template in _lws_templates(r.graph).items():
        container = template["spec"]["containers"][0]
        resources = container["resources"]
        assert resources["requests"]["vpc.amazonaws.com/efa"] == "32", role
        assert resources["limits"]["vpc.amazonaws.com/efa"] == "32", role
        assert _env(container)["FI_PROVIDER"] == "efa", role


def test_without_efa_no_interface_is_requested(run: Callable[..., Run]) -> None:
    r = run(lambda: ModelServer("big", _multi_node()))
    for role, template in _lws_templates(r.graph).items():
        container = template["spec"]["containers"][0]
        assert "vpc.amazonaws.com/efa" not in container["resources"]["limits"], role
        assert "FI_PROVIDER" not in _env(container), role


def test_efa_device_plugin_is_installed_from_the_version_table(run: Callable[..., Run]) -> None:
    r = run(lambda: ServingAddons("addons", {"efa_device_plugin": True, "kubernetes_version": "1.32"}))
    efa = r.graph.one(RELEASE, "addons-efa")
    pin = ADDON_VERSIONS["1.32"].efa_device_plugin
    assert efa.inputs["chart"] == "aws-efa-k8s-device-plugin" and efa.inputs["version"] == pin.version
    assert efa.inputs["repositoryOpts"]["repo"] == "https://aws.github.io/eks-charts"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in efa.inputs["values"][
        "tolerations"
    ]
    plain = run(lambda: ServingAddons("addons", {})).graph.of(RELEASE)
    assert {rel.name for rel in plain} == {"addons-keda", "addons-prometheus"}, "no EFA plugin unless asked"


# --- versions -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", sorted(ADDON_VERSIONS))
def test_addon_charts_follow_the_cluster_version(run: Callable[..., Run], version: str) -> None:
    r = run(lambda: ServingAddons("addons", {"kubernetes_version": version, "leader_worker_set": True}))
    row = ADDON_VERSIONS[version]
    versions = {rel.name.removeprefix("addons-"): rel.inputs["version"] for rel in r.graph.of(RELEASE)}
    assert versions == {
        "keda": row.keda.version,
        "prometheus": row.prometheus.version,
        "lws": row.leader_worker_set.version,
    }


def test_addons_default_to_the_default_cluster_version(run: Callable[..., Run]) -> None:
    r = run(lambda: ServingAddons("addons", {}))
    keda = r.graph.one(RELEASE, "addons-keda")
    assert keda.inputs["version"] == ADDON_VERSIONS[DEFAULT_KUBERNETES_VERSION].keda.version


def test_unsupported_cluster_version_is_refused_with_the_supported_ones(run: Callable[..., Run]) -> None:
    with pytest.raises(ValueError, match=r"ServingAddons: kubernetes_version='1\.29' is not supported; allowed: 1\.30"):
        run(lambda: ServingAddons("addons", {"kubernetes_version": "1.29"}))


def test_device_plugin_image_follows_the_cluster_version(run: Callable[..., Run]) -> None:
    r = run(lambda: NvidiaDevicePlugin("dp", {"kubernetes_version": "1.31"}))
    container = r.graph.one("kubernetes:apps/v1:DaemonSet").inputs["spec"]["template"]["spec"]["containers"][0]
    pin = ADDON_VERSIONS["1.31"].nvidia_device_plugin
    assert container["image"] == f"{pin.chart}:{pin.version}"


def test_addons_wait_for_what_the_component_waits_for(run: Callable[..., Run]) -> None:
    # The cluster's system node group: every Helm release lists it among its own dependencies.
    def body() -> None:
        ready = pulumi.CustomResource("test:index:SystemNodes", "system", {})
        ServingAddons(
            "addons",
            {"leader_worker_set": True, "efa_device_plugin": True},
            opts=pulumi.ResourceOptions(depends_on=[ready]),
        )

    r = run(body)
    system = r.graph.one("test:index:SystemNodes").urn
    for release in r.graph.of(RELEASE):
        assert system in release.dependencies, release.urn
