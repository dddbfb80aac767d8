"""`plan --write`: the owned keys, the golden stack file, and never losing a person's edit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from servestack.contract import ApiAccess, Deployment
from servestack.errors import ConfigError, SpecError
from servestack.generate import (
    GENERATED_KEY,
    EditedConfigError,
    StackChoices,
    owned_stack_config,
    stack_file_path,
    write_stack_config,
)
from servestack.preview.project import load_project, load_stack_config
from servestack.workload import WorkloadSpec, parse_spec

GOLDEN = Path(__file__).parent / "golden"

SPEC_TEXT = """
name: chat-70b
model: {id: llama-3.1-70b, precision: fp8, max_context_tokens: 8192}
traffic: {peak_requests_per_s: 12, avg_requests_per_s: 5, avg_input_tokens: 1500, avg_output_tokens: 300}
slo: {ttft_ms_p95: 1500, tpot_ms_p95: 50}
availability: {min_replicas: 2, zones: 2}
budget: {monthly_usd: 80000}
owner: {team: assistant, cost_center: cc-4100}
"""


def candidate(**overrides: Any) -> Deployment:
    """A valid deployment contract (illustrative prices); overrides replace fields without re-validation, so a
    writer test can change one value at a time."""
    base = Deployment.model_validate({
        "cloud": "aws", "region": "us-east-1", "zones": 2, "zoneNames": ["us-east-1a", "us-east-1b"],
        "instanceType": "p5.48xlarge", "accelerator": "H100", "acceleratorsPerNode": 8, "tensorParallel": 4,
        "nodesPerReplica": 1, "replicasPerNode": 2, "replicasMin": 4, "replicasAvg": 4, "replicasPeak": 6,
        "nodesMin": 2, "nodesAvg": 2, "nodesPeak": 3, "pricingBase": "1y", "pricingBurst": "on_demand",
        "hourlyUsdPerNode": 55.04, "hourlyUsdPerNodeBurst": 98.32, "nodeVcpus": 192, "nodeMemoryGib": 2048,
        "rootVolumeGib": 240, "rootVolumeThroughputMibps": 575, "rootVolumeIops": 4600,
        "podCpuMillicores": 85500, "podMemoryGib": 919, "efaInterfaces": 0,
        "serving": {"checkpoint": "RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8", "gated": False, "dtype": "bfloat16",
                    "kvCacheDtype": "fp8", "weightsGib": 65.75, "checkpointGib": 65.75, "cacheGib": 83,
                    "maxModelLen": 8192, "startupBudgetS": 1500, "nodeLaunchS": 600},
        "commitment": {"term": "1y", "awsSavingsPlanUsdPerHour": 110.08, "instructions": "buy it"},
    })
    return base.model_copy(update=overrides)


@pytest.fixture()
def spec() -> WorkloadSpec:
    return parse_spec(SPEC_TEXT)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    return tmp_path


def stack_text(project: Path, env: str = "prod") -> str:
    return (project / "stacks" / f"Pulumi.{env}.yaml").read_text()


def test_generated_stack_matches_golden_file(spec: WorkloadSpec, project: Path) -> None:
    result = write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    golden = GOLDEN / "Pulumi.prod.yaml"
    if os.environ.get("SERVESTACK_UPDATE_GOLDEN") == "1":
        golden.write_text(stack_text(project))
    assert result.created
    assert stack_text(project) == golden.read_text()


def test_owned_keys_follow_the_contract(spec: WorkloadSpec) -> None:
    owned = owned_stack_config(spec, candidate(), "staging")
    assert list(owned) == [
        "servestack:environment", "servestack:budgetMonthlyUsd", "servestack:workload", "servestack:deployment",
        "servestack:tags", "servestack:commitmentPurchased", "aws:region",
    ]
    assert owned["servestack:environment"] == "staging"
    assert owned["servestack:tags"] == {"team": "assistant", "cost-center": "cc-4100"}
    # A committed floor is not bought until someone says so.
    assert owned["servestack:commitmentPurchased"] is False
    dep = owned["servestack:deployment"]
    assert dep == candidate().to_stack_config()
    assert dep["replicasPerNode"] == 2 and dep["serving"]["kvCacheDtype"] == "fp8"
    assert owned["servestack:workload"]["model"] == {
        "id": "llama-3.1-70b", "precision": "fp8", "maxContextTokens": 8192, "weightsGib": 65.75,
    }


def test_gcp_writes_gcp_region_and_no_aws_key(spec: WorkloadSpec) -> None:
    owned = owned_stack_config(spec, candidate(cloud="gcp", region="us-central1", instance_type="a3-highgpu-8g"),
                               "prod", StackChoices(gcp_project="acme-ml"))
    assert owned["gcp:region"] == "us-central1" and owned["gcp:project"] == "acme-ml"
    assert "aws:region" not in owned


def test_spec_without_owner_or_budget_omits_those_keys() -> None:
    spec = parse_spec(SPEC_TEXT.replace("owner: {team: assistant, cost_center: cc-4100}", "")
                      .replace("budget: {monthly_usd: 80000}", ""))
    owned = owned_stack_config(spec, candidate(), "dev")
    assert "servestack:tags" not in owned and "servestack:budgetMonthlyUsd" not in owned


def test_choices_are_written_only_when_made(spec: WorkloadSpec) -> None:
    bare = owned_stack_config(spec, candidate(), "prod")
    assert not {"servestack:apiAccess", "servestack:hfTokenSecret", "servestack:clusterAdmins"} & set(bare)
    chosen = owned_stack_config(spec, candidate(), "prod", StackChoices(
        api_access=ApiAccess(mode="cidrs", cidrs=["203.0.113.7/32"]), hf_token_secret="ml/hf-token",
        cluster_admins=("arn:aws:iam::123456789012:role/ci",), commitment_purchased=True))
    assert chosen["servestack:apiAccess"] == {"mode": "cidrs", "cidrs": ["203.0.113.7/32"]}
    assert chosen["servestack:hfTokenSecret"] == "ml/hf-token"
    assert chosen["servestack:clusterAdmins"] == ["arn:aws:iam::123456789012:role/ci"]
    assert chosen["servestack:commitmentPurchased"] is True


def test_round_trip_keeps_comments_order_and_user_keys(spec: WorkloadSpec, project: Path) -> None:
    stacks = project / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.prod.yaml").write_text(
        "# Owned by the platform team; ask #ml-infra before changing.\n"
        "config:\n"
        "  servestack:exposure: public  # the partner API needs a public endpoint\n"
        "  servestack:tlsCertificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc\n"
        "  servestack:hfTokenSecret:\n"
        "    secure: v1:AAAA:BBBB\n"
    )
    write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    text = stack_text(project)
    assert text.startswith("# Owned by the platform team; ask #ml-infra before changing.\n")
    assert "  servestack:exposure: public  # the partner API needs a public endpoint\n" in text
    assert "    secure: v1:AAAA:BBBB\n" in text
    # The person's keys keep their place ahead of the keys servestack adds.
    assert text.index("servestack:exposure") < text.index("servestack:environment")


def test_second_write_changes_nothing(spec: WorkloadSpec, project: Path) -> None:
    owned = owned_stack_config(spec, candidate(), "prod")
    write_stack_config(project, "prod", owned)
    before = stack_text(project)
    again = write_stack_config(project, "prod", owned)
    assert not again.changed_anything
    assert again.unchanged == list(owned)
    assert stack_text(project) == before


def test_replan_updates_values_servestack_wrote(spec: WorkloadSpec, project: Path) -> None:
    write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    result = write_stack_config(project, "prod", owned_stack_config(spec, candidate(replicas_peak=8), "prod"))
    assert result.changed == ["servestack:deployment"]
    assert "    replicasPeak: 8\n" in stack_text(project)


def test_hand_edited_value_is_not_replaced_without_force(spec: WorkloadSpec, project: Path) -> None:
    write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    path = project / "stacks" / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("    replicasMin: 4\n", "    replicasMin: 5  # launch week\n"))
    edited = path.read_text()
    with pytest.raises(EditedConfigError) as err:
        write_stack_config(project, "prod", owned_stack_config(spec, candidate(replicas_peak=8), "prod"))
    assert err.value.keys == ["servestack:deployment"]
    assert err.value.exit_code == 1
    assert "servestack:deployment" in str(err.value) and "--force" in str(err.value)
    assert path.read_text() == edited


def test_value_present_before_servestack_wrote_it_counts_as_edited(spec: WorkloadSpec, project: Path) -> None:
    (project / "stacks").mkdir()
    (project / "stacks" / "Pulumi.prod.yaml").write_text("config:\n  aws:region: eu-west-1\n")
    with pytest.raises(EditedConfigError) as err:
        write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    assert err.value.keys == ["aws:region"]


def test_force_replaces_the_edit_and_records_it(spec: WorkloadSpec, project: Path) -> None:
    write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    path = project / "stacks" / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("    replicasMin: 4\n", "    replicasMin: 5\n"))
    owned = owned_stack_config(spec, candidate(replicas_peak=8), "prod")
    result = write_stack_config(project, "prod", owned, force=True)
    assert result.forced == ["servestack:deployment"] and "servestack:deployment" in result.changed
    assert "    replicasMin: 4\n" in path.read_text()
    # After a forced write the value is servestack's again: a later re-plan needs no --force.
    later = write_stack_config(project, "prod", owned_stack_config(spec, candidate(replicas_peak=9), "prod"))
    assert later.changed == ["servestack:deployment"]


def test_switching_cloud_removes_unedited_provider_key(spec: WorkloadSpec, project: Path) -> None:
    write_stack_config(project, "prod", owned_stack_config(spec, candidate(), "prod"))
    gcp = owned_stack_config(spec, candidate(cloud="gcp", region="us-central1", instance_type="a3-highgpu-8g"), "prod")
    result = write_stack_config(project, "prod", gcp)
    assert result.removed == ["aws:region"] and result.added == ["gcp:region"]
    text = stack_text(project)
    assert "aws:region" not in text and "  gcp:region: us-central1\n" in text


def test_stack_name_must_be_a_dns_label(spec: WorkloadSpec, project: Path) -> None:
    with pytest.raises(SpecError) as err:
        write_stack_config(project, "Prod_1", owned_stack_config(spec, candidate(), "prod"))
    assert err.value.field == "--env" and err.value.value == "Prod_1"


def test_directory_without_pulumi_yaml_is_a_clear_error(spec: WorkloadSpec, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Pulumi.yaml"):
        write_stack_config(tmp_path, "prod", owned_stack_config(spec, candidate(), "prod"))


def test_stack_config_dir_of_the_project_is_honoured(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: infra\nruntime: python\nstackConfigDir: config/stacks\n")
    assert stack_file_path(tmp_path, "dev-alice") == (tmp_path / "config/stacks/Pulumi.dev-alice.yaml").resolve()
    (tmp_path / "Pulumi.yaml").write_text("name: infra\nruntime: python\n")
    assert stack_file_path(tmp_path, "dev") == (tmp_path / "Pulumi.dev.yaml").resolve()


def test_written_file_reads_back_as_the_program_will_see_it(spec: WorkloadSpec, project: Path) -> None:
    (project / "__main__.py").write_text("")
    owned = owned_stack_config(spec, candidate(), "prod")
    write_stack_config(project, "prod", owned)
    cfg = load_stack_config(load_project(project), "prod")
    assert json.loads(cfg.values["servestack:deployment"]) == owned["servestack:deployment"]
    assert cfg.values["servestack:budgetMonthlyUsd"] == "80000"
    assert cfg.values["aws:region"] == "us-east-1"
    assert GENERATED_KEY in cfg.values
