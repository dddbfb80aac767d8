"""`plan --write`: the owned keys, the golden stack file, and never losing a person's edit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from servestack.errors import ConfigError, SpecError
from servestack.generate import (
    GENERATED_KEY,
    EditedConfigError,
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


def candidate(**overrides: Any) -> dict[str, Any]:
    """A CANDIDATE of the plan JSON plus the selector's extra fields (values are illustrative, not priced)."""
    base: dict[str, Any] = {
        "cloud": "aws", "region": "us-east-1", "instance_type": "p5.48xlarge", "accelerator": "H100",
        "accelerators_per_node": 8, "tensor_parallel": 4, "replicas_min": 2, "replicas_peak": 6,
        "nodes_min": 1, "nodes_peak": 3, "pricing_base": "1y", "pricing_burst": "on_demand",
        "hourly_usd_per_node": 55.04, "monthly_usd_expected": 60000.0, "monthly_usd_ceiling": 79000.0,
        "estimate": {"output_tokens_per_s_per_replica": 4100.0, "ttft_ms": 420.0, "tpot_ms": 21.5,
                     "max_concurrent_sequences": 180, "weights_gib": 65.75},
        "zones": 2, "nodes_per_replica": 1, "replicas_per_node": 2, "replicas_avg": 3, "nodes_avg": 2,
        "root_volume_gib": 300,
    }
    base.update(overrides)
    return base


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
        "servestack:tags", "aws:region",
    ]
    assert owned["servestack:environment"] == "staging"
    assert owned["servestack:tags"] == {"team": "assistant", "cost-center": "cc-4100"}
    dep = owned["servestack:deployment"]
    assert dep["nodesPerReplica"] == 1 and dep["replicasAvg"] == 3 and dep["nodesAvg"] == 2
    assert dep["pricingBase"] == "1y" and dep["gpuMemoryUtilization"] == 0.9
    assert owned["servestack:workload"]["model"] == {
        "id": "llama-3.1-70b", "precision": "fp8", "maxContextTokens": 8192, "weightsGib": 65.75,
    }


def test_gcp_writes_gcp_region_and_no_aws_key(spec: WorkloadSpec) -> None:
    owned = owned_stack_config(spec, candidate(cloud="gcp", region="us-central1", instance_type="a3-highgpu-8g"),
                               "prod", gcp_project="acme-ml")
    assert owned["gcp:region"] == "us-central1" and owned["gcp:project"] == "acme-ml"
    assert "aws:region" not in owned


def test_spec_without_owner_or_budget_omits_those_keys() -> None:
    spec = parse_spec(SPEC_TEXT.replace("owner: {team: assistant, cost_center: cc-4100}", "")
                      .replace("budget: {monthly_usd: 80000}", ""))
    owned = owned_stack_config(spec, candidate(), "dev")
    assert "servestack:tags" not in owned and "servestack:budgetMonthlyUsd" not in owned


def test_missing_candidate_field_is_named(spec: WorkloadSpec) -> None:
    bad = candidate()
    del bad["replicas_avg"]
    with pytest.raises(ValueError, match="replicas_avg"):
        owned_stack_config(spec, bad, "prod")


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
    path.write_text(path.read_text().replace("    replicasMin: 2\n", "    replicasMin: 3  # launch week\n"))
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
    path.write_text(path.read_text().replace("    replicasMin: 2\n", "    replicasMin: 3\n"))
    owned = owned_stack_config(spec, candidate(replicas_peak=8), "prod")
    result = write_stack_config(project, "prod", owned, force=True)
    assert result.forced == ["servestack:deployment"] and "servestack:deployment" in result.changed
    assert "    replicasMin: 2\n" in path.read_text()
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
