"""ModelDeployment hands the contract's fields to the Kubernetes components (and still previews without them)."""

from collections.abc import Callable
from typing import Any

from servestack.components.config import DeploymentConfig
from servestack.components.deployment import ModelDeployment, model_deployment_args
from servestack.versions import ADDON_VERSIONS

Runner = Callable[..., Any]  # the run_pulumi fixture (conftest.py)
ConfigLoader = Callable[[str], dict[str, str]]  # the fixture_config fixture
LWS = "kubernetes:leaderworkerset.x-k8s.io/v1:LeaderWorkerSet"

# What model_deployment_args fills from the contract (deployment-args.md) for the 405B fixture.
CONTRACT = {
    "checkpoint": "meta-llama/Llama-3.1-405B-Instruct-FP8",
    "dtype": "bfloat16",
    "kv_cache_dtype": "fp8",
    "cache_size_gib": 420,
    "startup_budget_s": 5400,
    "node_launch_s": 540,
    "pod_cpu": "180",
    "pod_memory_gib": 1800,
    "efa_interfaces": 32,
    "kubernetes_version": "1.32",
    "hf_token_secret": "hf/meta-llama",
}


def _deploy(extra: dict[str, Any], drop: tuple[str, ...] = ()) -> Callable[[], None]:
    def body() -> None:
        args: Any = {**model_deployment_args(DeploymentConfig.from_pulumi_config()), **extra}
        for key in drop:
            args.pop(key, None)
        ModelDeployment("chat-405b", args)

    return body


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_contract_fields_reach_the_serving_pods(run_pulumi: Runner, fixture_config: ConfigLoader) -> None:
    g = run_pulumi(_deploy(CONTRACT), config=fixture_config("aws-405b"))
    template = g.one(LWS).inputs["spec"]["leaderWorkerTemplate"]
    leader = template["leaderTemplate"]["spec"]
    cmd = leader["containers"][0]["command"][2]
    assert "vllm serve meta-llama/Llama-3.1-405B-Instruct-FP8 " in cmd
    assert "--kv-cache-dtype fp8" in cmd and "--dtype bfloat16" in cmd
    for role in ("leaderTemplate", "workerTemplate"):
        spec = template[role]["spec"]
        resources = spec["containers"][0]["resources"]
        assert resources["requests"]["cpu"] == "180" and resources["limits"]["memory"] == "1800Gi", role
        assert resources["limits"]["vpc.amazonaws.com/efa"] == "32", role
        assert _env(spec["initContainers"][0])["HF_TOKEN_SECRET"] == "hf/meta-llama", role
        assert spec["serviceAccountName"] == "chat-405b-server", role
    volumes = {v["name"]: v for v in leader["volumes"]}
    assert volumes["model-cache"]["emptyDir"]["sizeLimit"] == "420Gi"
    probe = leader["containers"][0]["startupProbe"]
    assert probe["failureThreshold"] * probe["periodSeconds"] >= 5400
    waits = [
        int(r.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"])
        for r in (g.one(LWS), g.one("kubernetes:core/v1:Service"))
    ]
    assert all(w >= 540 + 5400 for w in waits), waits


def test_contract_kubernetes_version_and_efa_reach_the_addons(run_pulumi: Runner, fixture_config: ConfigLoader) -> None:
    g = run_pulumi(_deploy(CONTRACT), config=fixture_config("aws-405b"))
    row = ADDON_VERSIONS["1.32"]
    releases = {r.name: r.inputs for r in g.of("kubernetes:helm.sh/v3:Release")}
    assert releases["chat-405b-addons-keda"]["version"] == row.keda.version
    assert releases["chat-405b-addons-efa"]["version"] == row.efa_device_plugin.version
    plugin_ds = g.one("kubernetes:apps/v1:DaemonSet", "device-plugin-ds")
    plugin = plugin_ds.inputs["spec"]["template"]["spec"]["containers"][0]
    assert plugin["image"].endswith(f":{row.nvidia_device_plugin.version}")


def test_a_program_without_the_contract_fields_still_previews_safely(
    run_pulumi: Runner, fixture_config: ConfigLoader
) -> None:
    # A hand-built ModelDeploymentArgs without them: 16-bit weights and KV cache (every part runs them), requests.
    g = run_pulumi(_deploy({}, drop=(*CONTRACT, "quantization", "checkpoint_gib")), config=fixture_config("aws-405b"))
    leader = g.one(LWS).inputs["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0]
    assert "--kv-cache-dtype auto" in leader["command"][2]
    assert set(leader["resources"]["requests"]) >= {"cpu", "memory"}
    assert "vpc.amazonaws.com/efa" not in leader["resources"]["limits"]
    assert not [r for r in g.of("kubernetes:helm.sh/v3:Release") if r.name.endswith("-efa")]
