"""The offline preview over a small hand-written EKS + vLLM program (fixtures/aws_small)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from servestack.errors import ConfigError, SpecError
from servestack.preview import PreviewResult, ProgramError, preview_json, run_preview

FIXTURE = Path(__file__).parent / "fixtures" / "aws_small"
CIPHERTEXT = "v1:c2VjcmV0LWNpcGhlcnRleHQ="


@pytest.fixture(scope="module")
def dev() -> PreviewResult:
    return run_preview(FIXTURE, "dev")


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A private copy of the fixture, for tests that edit its stack files."""
    dest = tmp_path / "proj"
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def one(result: PreviewResult, type_: str) -> dict[str, Any]:
    found = result.by_type(type_)
    assert len(found) == 1, f"expected one {type_}, got {[r.urn for r in found]}"
    return found[0].to_json()


def test_resource_graph_has_types_names_and_parents(dev: PreviewResult) -> None:
    types = sorted(r.type for r in dev.resources)
    assert types.count("aws:ec2/subnet:Subnet") == 2
    assert {"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:apps/v1:Deployment",
            "kubernetes:core/v1:Service", "pulumi:providers:kubernetes"} <= set(types)
    component = one(dev, "fixture:index:GpuService")
    assert component["urn"] == "urn:pulumi:dev::fixture::pulumi:pulumi:Stack$fixture:index:GpuService::chat"
    assert component["parent"] == "urn:pulumi:dev::fixture::pulumi:pulumi:Stack::fixture-dev"
    assert component["custom"] is False
    ng = one(dev, "aws:eks/nodeGroup:NodeGroup")
    assert ng["urn"] == "urn:pulumi:dev::fixture::fixture:index:GpuService$aws:eks/nodeGroup:NodeGroup::chat-gpu"
    assert ng["parent"] == component["urn"]
    assert ng["custom"] is True


def test_inputs_keep_provider_property_names_and_resolved_values(dev: PreviewResult) -> None:
    ng = one(dev, "aws:eks/nodeGroup:NodeGroup")["inputs"]
    assert isinstance(ng, dict)
    assert ng["instanceTypes"] == ["g6.xlarge"] and ng["capacityType"] == "ON_DEMAND"
    assert ng["scalingConfig"] == {"desiredSize": 2, "maxSize": 2, "minSize": 2}
    # Values computed by the mocked provider flow into dependants: cluster name, launch template id/version.
    cluster = one(dev, "aws:eks/cluster:Cluster")
    assert ng["clusterName"].startswith("chat-cluster-")
    assert ng["launchTemplate"]["id"].startswith("lt-") and ng["launchTemplate"]["version"] == "1"
    assert cluster["urn"] in one(dev, "aws:eks/nodeGroup:NodeGroup")["dependencies"]
    lt = one(dev, "aws:ec2/launchTemplate:LaunchTemplate")["inputs"]
    assert lt["metadataOptions"]["httpTokens"] == "required"
    assert lt["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_invokes_return_plausible_data(dev: PreviewResult) -> None:
    subnets = dev.by_type("aws:ec2/subnet:Subnet")
    assert sorted(s.inputs["availabilityZone"] for s in subnets) == ["eu-west-1a", "eu-west-1b"]
    role = one(dev, "aws:iam/role:Role")["inputs"]
    doc = json.loads(role["assumeRolePolicy"])
    assert doc["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}
    assert doc["Statement"][0]["Action"] == "sts:AssumeRole"


def test_kubernetes_objects_use_the_cluster_provider(dev: PreviewResult) -> None:
    provider = one(dev, "pulumi:providers:kubernetes")
    deployment = one(dev, "kubernetes:apps/v1:Deployment")
    assert isinstance(deployment["provider"], str)
    assert deployment["provider"].startswith(f"{provider['urn']}::")
    kubeconfig = json.loads(provider["inputs"]["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://")


def test_outputs_resolve_and_stack_file_overrides_project_default(dev: PreviewResult) -> None:
    assert dev.outputs["clusterEndpoint"].startswith("https://")
    assert dev.outputs["clusterEndpoint"].endswith(".eu-west-1.eks.amazonaws.com")
    assert dev.outputs["clusterArn"].startswith("arn:aws:eks:eu-west-1:123456789012:cluster/")
    assert dev.outputs["region"] == "eu-west-1"
    assert dev.outputs["serviceHostname"]


def test_secrets_are_masked_and_never_decrypted(dev: PreviewResult) -> None:
    assert dev.outputs["kubeconfig"] == "[secret]"
    assert one(dev, "kubernetes:core/v1:Secret")["inputs"]["stringData"] == "[secret]"
    assert dev.config["fixture:hfToken"] == "[secret]"
    document = json.dumps(preview_json(dev))
    assert CIPHERTEXT not in document


def test_preview_json_has_the_contract_fields(dev: PreviewResult) -> None:
    doc = preview_json(dev)
    # The contract's fields, plus the ones added since (never removed).
    assert set(doc) == {"project", "stack", "outputs", "resources", "monthly_usd", "unevaluated"}
    assert set(doc["monthly_usd"]) == {"expected", "ceiling"}
    assert doc["unevaluated"] == []
    for res in doc["resources"]:
        assert set(res) == {
            "urn", "type", "name", "parent", "custom", "provider", "dependencies", "inputs", "options"
        }
    json.dumps(doc)  # plain JSON all the way down


def test_monthly_cost_comes_from_the_costing_engine(dev: PreviewResult) -> None:
    doc = preview_json(dev)["monthly_usd"]
    assert doc["ceiling"] is not None and doc["ceiling"] > 0
    assert doc["expected"] is not None and doc["expected"] <= doc["ceiling"]


def test_project_defaults_apply_and_runs_do_not_leak(dev: PreviewResult) -> None:
    staging = run_preview(FIXTURE, "staging")
    # replicas comes from Pulumi.yaml's default (1) in staging: no PodDisruptionBudget there.
    assert not staging.by_type("kubernetes:policy/v1:PodDisruptionBudget")
    assert staging.by_type("aws:eks/nodeGroup:NodeGroup")[0].inputs["capacityType"] == "SPOT"
    assert all(r.urn.startswith("urn:pulumi:staging::fixture::") for r in staging.resources)
    again = run_preview(FIXTURE, "dev")
    assert preview_json(again) == preview_json(dev)
    assert not [m for m in sys.modules.values() if str(getattr(m, "__file__", "")).startswith(str(FIXTURE))]
    assert Path.cwd() != FIXTURE.resolve()


def test_several_stacks_need_an_explicit_choice() -> None:
    with pytest.raises(ConfigError, match="dev, staging"):
        run_preview(FIXTURE, None)


def test_the_only_stack_is_the_default(project: Path) -> None:
    (project / "stacks" / "Pulumi.staging.yaml").unlink()
    assert run_preview(project, None).stack == "dev"


def test_missing_required_config_names_the_key(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("  fixture:image: vllm/vllm-openai:v0.11.0\n", ""))
    with pytest.raises(ConfigError) as err:
        run_preview(project, "dev")
    assert "fixture:image" in str(err.value) and err.value.exit_code == 2


def test_ill_typed_config_names_the_key(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    text = path.read_text()
    start = text.index("  fixture:node:")
    end = text.index("  aws:region")
    path.write_text(text[:start] + "  fixture:node: not-an-object\n" + text[end:])
    with pytest.raises(SpecError) as err:
        run_preview(project, "dev")
    assert err.value.field == "fixture:node" and err.value.exit_code == 2


def test_value_against_declared_project_type_is_rejected(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text().replace("fixture:replicas: 2", "fixture:replicas: two"))
    with pytest.raises(ConfigError, match="fixture:replicas"):
        run_preview(project, "dev")


def test_servestack_error_from_the_program_passes_through(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  fixture:exposure: everywhere\n")
    with pytest.raises(ConfigError, match="'everywhere' is not valid; allowed: internal, public"):
        run_preview(project, "dev")


def test_program_bug_is_exit_1_with_message_and_hidden_traceback(project: Path) -> None:
    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  fixture:crash: 'true'\n")
    with pytest.raises(ProgramError) as err:
        run_preview(project, "dev")
    assert err.value.exit_code == 1
    assert "deliberate failure in the program" in str(err.value)
    assert "Traceback" not in str(err.value)
    assert "Traceback" in err.value.program_traceback


def test_missing_project_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Pulumi.yaml"):
        run_preview(tmp_path, "dev")


def test_unknown_stack_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="stacks with a file: dev, staging"):
        run_preview(FIXTURE, "prod")


def test_cli_json_and_exit_codes(project: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from servestack.cli import main

    assert main(["preview", "-C", str(project), "-s", "dev", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stack"] == "dev" and doc["project"] == "fixture"

    assert main(["preview", "-C", str(project), "-s", "dev"]) == 0
    out = capsys.readouterr().out
    assert "aws:eks/nodeGroup:NodeGroup" in out and "instanceTypes" in out and "[secret]" in out
    assert CIPHERTEXT not in out

    path = project / "stacks" / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "  fixture:crash: 'true'\n")
    assert main(["preview", "-C", str(project), "-s", "dev"]) == 1
    err = capsys.readouterr().err
    assert "deliberate failure" in err and "Traceback" not in err
    monkeypatch.setenv("SERVESTACK_DEBUG", "1")
    assert main(["preview", "-C", str(project), "-s", "dev"]) == 1
    assert "Traceback" in capsys.readouterr().err

    monkeypatch.delenv("SERVESTACK_DEBUG")
    path.write_text(path.read_text().replace("  fixture:image: vllm/vllm-openai:v0.11.0\n", ""))
    assert main(["preview", "-C", str(project), "-s", "dev"]) == 2
    assert "fixture:image" in capsys.readouterr().err


def test_preview_json_on_stdout_is_the_only_output_of_a_cli_process() -> None:
    # Wall time is measured by benchmarks/bench_preview.py, not asserted here.
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preview", "-C", str(FIXTURE), "-s", "dev", "--json"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stack"] == "dev"


def test_program_log_becomes_notes_and_a_logged_error_fails(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: logs\nruntime: python\n")
    (tmp_path / "Pulumi.dev.yaml").write_text("config: {}\n")
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.log.warn('quota is tight')\n")
    result = run_preview(tmp_path, "dev")
    assert "program warning: quota is tight" in result.notes

    # As under the real engine, an error logged by a program that returns normally fails the preview.
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.log.error('no capacity')\n")
    with pytest.raises(ProgramError, match="logged an error: no capacity"):
        run_preview(tmp_path, "dev")


def test_config_error_is_reported_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((root / name).read_text())
    (tmp_path / "stacks").mkdir()
    prod = (root / "stacks" / "Pulumi.prod.yaml").read_text()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text(prod.replace("instanceType: p4d.24xlarge", "instanceType: 7"))
    proc = subprocess.run([sys.executable, "-m", "servestack.cli", "preview", "-C", str(tmp_path), "-s", "prod"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert (proc.stdout + proc.stderr).count("servestack:deployment.instanceType") == 1, proc.stdout + proc.stderr
