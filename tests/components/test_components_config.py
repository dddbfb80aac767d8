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


def test_built_in_model_maps_to_its_repository() -> None:
    cfg = DeploymentConfig.from_mapping(_mapping("aws-spot"))
    assert cfg.model_repository == "meta-llama/Llama-3.1-70B-Instruct"


def test_whole_floats_are_accepted_as_counts() -> None:
    cfg = DeploymentConfig.from_mapping(_with("aws-spot", "deployment.nodesPeak", 5.0))
    assert cfg.deployment.nodes_peak == 5


@pytest.mark.parametrize(
    ("path", "value", "key", "hint"),
    [
        ("deployment.pricingBase", "reserved", "servestack:deployment.pricingBase", "'on_demand'"),
        ("deployment.nodesPeak", 2.5, "servestack:deployment.nodesPeak", "2.5"),
        ("deployment.nodesPeak", 6, "servestack:deployment", "nodesPeak (6) must equal replicasPeak (5)"),
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


def test_int4_without_a_served_checkpoint_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^servestack:servedModel: <missing>.*pre-quantized"):
        DeploymentConfig.from_mapping(_with("aws-spot", "workload.model.precision", "int4"))


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
    # The selector packs acceleratorsPerNode // tensorParallel single-node replicas on each node
    # (selector.plan._nodes_for), so 5 replicas of TP 2 on 8-GPU nodes need 2 nodes, not 5.
    data = _mapping("aws-spot")
    data["deployment"].update(
        acceleratorsPerNode=8, tensorParallel=2, nodesPerReplica=1,
        replicasMin=3, replicasAvg=4, replicasPeak=5, nodesMin=1, nodesAvg=1, nodesPeak=2,
    )
    cfg = DeploymentConfig.from_mapping(data)
    assert cfg.deployment.replicas_per_node == 4
    data["deployment"]["nodesPeak"] = 5
    with pytest.raises(ConfigError, match=r"nodesPeak \(5\) must equal replicasPeak \(5\) / replicas per node \(4"):
        DeploymentConfig.from_mapping(data)
