"""Stack-config validation: every problem names the `servestack:` key, the value and what is allowed."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from servestack.components.config import DeploymentConfig
from servestack.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


def _mapping(stack: str) -> dict[str, Any]:
    raw = yaml.safe_load((FIXTURES / f"Pulumi.{stack}.yaml").read_text())["config"]
    out: dict[str, Any] = {}
    for key, value in raw.items():
        ns, _, short = key.partition(":")
        out[short if ns == "servestack" else key] = value
    return out


def _with(stack: str, path: str, value: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(_mapping(stack)))
    *head, last = path.split(".")
    node = data
    for part in head:
        node = node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize("stack", ["aws-spot", "aws-405b", "gcp"])
def test_fixture_stacks_are_valid(stack: str) -> None:
    cfg = DeploymentConfig.from_mapping(_mapping(stack))
    assert cfg.cost_tags["managed-by"] == "servestack"
    assert cfg.exposure == "internal"
    assert cfg.image == "vllm/vllm-openai:v0.11.0"


def test_the_contract_names_the_checkpoint_it_deploys() -> None:
    cfg = DeploymentConfig.from_mapping(_mapping("aws-spot"))
    # fp8 on a built-in id: the published FP8 release, not a 16-bit download quantized on load.
    assert cfg.deployment.serving.checkpoint == "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8"
    assert cfg.deployment.serving.quantization is None


def test_whole_floats_are_accepted_as_counts() -> None:
    cfg = DeploymentConfig.from_mapping(_with("aws-spot", "deployment.nodesPeak", 5.0))
    assert cfg.deployment.nodes_peak == 5


@pytest.mark.parametrize(
    ("path", "value", "key", "hint"),
    [
        ("deployment.pricingBase", "reserved", "servestack:deployment.pricingBase", "'on_demand'"),
        ("deployment.nodesPeak", 2.5, "servestack:deployment.nodesPeak", "2.5"),
        ("deployment.nodesPeak", 6, "servestack:deployment", "nodesPeak (6) must be 5"),
        ("deployment.serving.kvCacheDtype", "fp16", "servestack:deployment.serving.kvCacheDtype", "'auto'"),
        ("apiAccess.cidrs", ["0.0.0.0/0"], "servestack:apiAccess.cidrs", "whole internet"),
        ("kubernetesVersion", "1.29", "servestack:kubernetesVersion", "allowed: 1.30"),
        ("dockerHubCredentialArn", "arn:aws:iam::1:role/x", "servestack:dockerHubCredentialArn", "pattern"),
        ("deployment.cloud", "azure", "servestack:deployment.cloud", "'aws'"),
        ("deployment.instanceType", _DELETE, "servestack:deployment.instanceType", "missing"),
        ("tags.team", "ML Platform", "servestack:tags.team", "ML Platform"),
        ("workload.name", "Chat_70B", "servestack:workload.name", "DNS-1123"),
        ("environment", "qa", "servestack:environment", "'dev'"),
        ("image", "vllm/vllm-openai:latest", "servestack:image", "latest"),
        ("image", "vllm/vllm-openai", "servestack:image", "version tag"),
    ],
)
def test_invalid_values_name_the_key(path: str, value: Any, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        DeploymentConfig.from_mapping(_with("aws-spot", path, value))
    message = str(info.value)
    assert message.startswith(key + ":"), message
    assert hint in message


def test_missing_deployment_key_says_how_to_write_it() -> None:
    data = _mapping("aws-spot")
    del data["deployment"]
    with pytest.raises(ConfigError, match=r"^servestack:deployment: missing; run `servestack plan"):
        DeploymentConfig.from_mapping(data)


def test_unknown_key_suggests_the_near_one() -> None:
    data = _mapping("aws-spot") | {"exposur": "public"}
    with pytest.raises(ConfigError, match=r"servestack:exposur: unknown key \(did you mean 'exposure'\?\)"):
        DeploymentConfig.from_mapping(data)


def test_public_exposure_on_aws_requires_a_certificate() -> None:
    with pytest.raises(ConfigError, match=r"^servestack:tlsCertificateArn: <missing>"):
        DeploymentConfig.from_mapping(_mapping("aws-spot") | {"exposure": "public"})


def test_gcp_requires_a_project() -> None:
    data = _mapping("gcp")
    del data["gcp:project"]
    with pytest.raises(ConfigError, match=r"^gcp:project: <missing>"):
        DeploymentConfig.from_mapping(data)


def test_without_an_api_access_choice_the_program_stops_naming_the_key() -> None:
    data = _mapping("aws-spot")
    del data["apiAccess"]
    with pytest.raises(ConfigError, match=r"^servestack:apiAccess: <missing>.*--api-cidr.*--api-private"):
        DeploymentConfig.from_mapping(data)


def test_gated_weights_without_a_token_secret_stop_the_program() -> None:
    data = _mapping("aws-405b")
    assert data["deployment"]["serving"]["gated"] is True
    del data["hfTokenSecret"]
    with pytest.raises(ConfigError, match=r"^servestack:hfTokenSecret: <missing>.*meta-llama/.*gated"):
        DeploymentConfig.from_mapping(data)


def test_fp8_kv_cache_on_a100_is_refused() -> None:
    data = _mapping("aws-405b")
    data["deployment"]["serving"]["kvCacheDtype"] = "fp8"
    data["deployment"]["accelerator"] = "A100-80GB"
    with pytest.raises(ConfigError, match=r"kvCacheDtype fp8 needs a part with fp8.*A100-80GB"):
        DeploymentConfig.from_mapping(data)


def test_spec_without_owner_gets_tags_from_name_and_environment() -> None:
    data = _mapping("aws-spot")
    del data["tags"]
    cfg = DeploymentConfig.from_mapping(data)
    assert cfg.cost_tags == {"workload": "chat-70b", "environment": "prod", "managed-by": "servestack"}


def test_config_module_imports_no_provider_sdk() -> None:
    import subprocess
    import sys

    code = "import servestack.components.config, sys; print(sorted(m for m in sys.modules if m.startswith('pulumi')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ("deployment.nodesPeek", "servestack:deployment.nodesPeek", "(did you mean 'nodesPeak'?)"),
        ("workload.model.bogus", "servestack:workload.model.bogus", "allowed: architecture, id, maxContextTokens"),
        ("tags.owner", "servestack:tags.owner", "allowed: cost-center, team"),
    ],
)
def test_unknown_nested_key_lists_the_allowed_ones(path: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        DeploymentConfig.from_mapping(_with("aws-spot", path, 1))
    message = str(info.value)
    assert message.startswith(f"{key}: unknown key"), message
    assert expected in message


def test_misspelt_stack_key_stops_the_program(tmp_path: Path) -> None:
    # Through the real program and stack file: pulumi.Config alone would never ask for the misspelt key.
    import shutil

    from servestack.preview import run_preview

    root = Path(__file__).resolve().parents[2]
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "stacks", tmp_path / "stacks")
    stack_file = tmp_path / "stacks" / "Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text() + "  servestack:exposre: public\n")
    with pytest.raises(ConfigError, match=r"servestack:exposre: unknown key \(did you mean 'exposure'\?\)"):
        run_preview(tmp_path, "prod")
    assert run_preview(root, "prod").resources  # the committed stack itself has no such key


def test_replicas_sharing_a_node_are_a_valid_plan() -> None:
    # acceleratorsPerNode // tensorParallel single-node replicas share each node (servestack.contract.shape):
    # 10 replicas of TP 2 on 8-GPU nodes need 3 nodes, not 10; the 2 always-on nodes (one per zone) hold 8.
    data = _mapping("aws-spot")
    data["deployment"].update(
        acceleratorsPerNode=8, tensorParallel=2, nodesPerReplica=1, replicasPerNode=4,
        replicasMin=8, replicasAvg=8, replicasPeak=10, nodesMin=2, nodesAvg=2, nodesPeak=3,
    )
    cfg = DeploymentConfig.from_mapping(data)
    assert cfg.deployment.replicas_per_node == 4
    data["deployment"]["nodesPeak"] = 10
    with pytest.raises(ConfigError, match=r"nodesPeak \(10\) must be 3: replicasPeak \(10\) on 4 replica"):
        DeploymentConfig.from_mapping(data)
    data["deployment"].update(nodesPeak=3, replicasMin=2)
    with pytest.raises(ConfigError, match=r"replicasMin \(2\) must fill the always-on nodes"):
        DeploymentConfig.from_mapping(data)


def test_docker_hub_credential_reaches_the_deployment() -> None:
    from servestack.components.deployment import model_deployment_args

    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf"
    cfg = DeploymentConfig.from_mapping(_mapping("aws-spot") | {"dockerHubCredentialArn": arn})
    assert model_deployment_args(cfg)["docker_hub_credential_arn"] == arn


# -- the multi-workload keys (servestack:workloads + servestack:fleet) ----------------------------------------------


def _fleet_mapping() -> dict[str, Any]:
    """The aws-spot stack as a two-workload fleet: chat-70b and embed-8b, each on a pool of the same shape."""
    data = _mapping("aws-spot")
    workload, deployment = data.pop("workload"), data.pop("deployment")
    embed = {**json.loads(json.dumps(workload)), "name": "embed-8b",
             "tags": {"team": "search", "cost-center": "cc-7"}}
    data["workloads"] = [workload, embed]
    data["fleet"] = {"servers": [
        {"workload": "chat-70b", "pool": "chat-70b", "deployment": deployment},
        {"workload": "embed-8b", "pool": "embed-8b", "deployment": json.loads(json.dumps(deployment))},
    ]}
    return data


def test_single_keys_read_as_a_one_server_fleet() -> None:
    cfg = DeploymentConfig.from_mapping(_mapping("aws-spot"))
    (server,) = cfg.fleet.servers
    assert (server.workload, server.pool, server.deployment) == ("chat-70b", "chat-70b", cfg.deployment)
    assert cfg.cluster_tags == cfg.cost_tags  # a one-workload cluster belongs to its workload, as before


def test_multi_keys_read_as_a_fleet_with_per_server_views() -> None:
    cfg = DeploymentConfig.from_mapping(_fleet_mapping())
    assert [s.pool for s in cfg.fleet.servers] == ["chat-70b", "embed-8b"]
    assert [w.name for w in cfg.workloads] == ["chat-70b", "embed-8b"]
    embed = cfg.for_server(cfg.fleet.server("embed-8b"))
    assert embed.workload.name == "embed-8b" and embed.deployment == cfg.fleet.server("embed-8b").deployment
    # The workload's own owner on its resources; the stack's owner on what the servers share.
    assert embed.cost_tags == {"team": "search", "workload": "embed-8b", "environment": "prod",
                               "managed-by": "servestack", "cost-center": "cc-7"}
    assert cfg.for_server(cfg.fleet.servers[0]).cost_tags["team"] == "ml-platform"
    assert cfg.cluster_tags == {"team": "ml-platform", "environment": "prod", "managed-by": "servestack",
                                "cost-center": "cc-4711"}


def _fleet_with(path: str, value: Any) -> dict[str, Any]:
    data = _fleet_mapping()
    node: Any = data
    *head, last = path.split(".")
    for part in head:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "key", "hint"),
    [
        ("fleet.servers.1.deployment.nodesPeak", 2.5, "servestack:fleet.servers[1].deployment.nodesPeak", "2.5"),
        ("fleet.servers.1.deployment.nodesPeak", 6, "servestack:fleet.servers[1].deployment", "nodesPeak (6) must"),
        ("fleet.servers.1.deployment.nodesPeek", 5, "servestack:fleet.servers[1].deployment.nodesPeek",
         "did you mean 'nodesPeak'"),
        ("fleet.servers.1.deployment.region", "us-west-2", "servestack:fleet.servers[1].deployment.region",
         "same cloud, region"),
        ("fleet.servers.1.pool", "chat-70b", "servestack:fleet.servers[1].pool", "already the pool"),
        ("fleet.servers.1.pool", "system", "servestack:fleet.servers[1].pool", "cluster's own node pool"),
        ("fleet.servers.1.workload", "embed", "servestack:fleet.servers[1].workload", "allowed: chat-70b, embed-8b"),
        ("workloads.1.name", "chat-70b", "servestack:workloads[1].name", "unique"),
        ("workloads.1.model.bogus", 1, "servestack:workloads[1].model.bogus", "allowed: architecture"),
        ("fleet.servers.0.requestClasses", [{"name": "all", "share": 1, "inputTokens": 9, "outputTokens": 9}],
         "servestack:fleet.servers[0].requestClasses", "remove requestClasses"),
    ],
)
def test_invalid_fleet_values_name_the_key_path(path: str, value: Any, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        DeploymentConfig.from_mapping(_fleet_with(path, value))
    message = str(info.value)
    assert message.startswith(key + ":"), message
    assert hint in message


def test_a_workload_without_a_server_is_named() -> None:
    data = _fleet_mapping()
    data["fleet"]["servers"].pop()
    with pytest.raises(ConfigError, match=r"^servestack:fleet.servers: workload 'embed-8b' .* has no server"):
        DeploymentConfig.from_mapping(data)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.__setitem__("deployment", d["fleet"]["servers"][0]["deployment"]),
         r"^servestack:workloads: cannot be combined with servestack:deployment"),
        (lambda d: d.pop("fleet"), r"^servestack:fleet: missing; servestack:workloads goes with servestack:fleet"),
    ],
)
def test_the_two_shapes_do_not_mix(change: Any, expected: str) -> None:
    data = _fleet_mapping()
    change(data)
    with pytest.raises(ConfigError, match=expected):
        DeploymentConfig.from_mapping(data)


def test_a_gated_checkpoint_on_any_server_needs_the_token_secret() -> None:
    data = _fleet_with("fleet.servers.1.deployment.serving.gated", True)
    with pytest.raises(ConfigError, match=r"^servestack:hfTokenSecret: <missing>"):
        DeploymentConfig.from_mapping(data)
