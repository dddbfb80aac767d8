"""`servestack new`: what it writes, that it writes the same bytes twice, what it refuses, and `--update`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from servestack import __version__
from servestack.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHAT = ROOT / "examples" / "chat-70b.yaml"
SUMMARIZE = ROOT / "examples" / "summarize-8b.yaml"

Files = Callable[[Path], dict[str, bytes]]


def _stack(directory: Path, name: str) -> dict:
    return yaml.safe_load((directory / "stacks" / f"Pulumi.{name}.yaml").read_text())["config"]


def test_a_single_workload_project_has_every_file(tmp_path: Path, new_project, project_files: Files) -> None:
    assert new_project(tmp_path / "p", [CHAT]) == 0
    files = project_files(tmp_path / "p")
    assert set(files) == {
        ".github/workflows/servestack-check.yml", ".github/workflows/servestack-policy-preview.yml", ".gitignore",
        ".servestack/manifest.json", "Pulumi.yaml", "README.md", "__main__.py", "policy/dev.json",
        "policy/prod.json", "reports/dev.html", "reports/prod.html", "requirements.txt", "stacks/Pulumi.dev.yaml",
        "stacks/Pulumi.prod.yaml",
        "workloads/chat-70b.yaml",
    }
    assert f"servestack[pulumi]=={__version__}" in files["requirements.txt"].decode()
    assert files["workloads/chat-70b.yaml"] == CHAT.read_bytes()
    project = yaml.safe_load(files["Pulumi.yaml"])
    assert project["name"] == "platform" and project["stackConfigDir"] == "stacks"


def test_single_workload_stacks_are_what_plan_write_writes(tmp_path: Path, new_project) -> None:
    # The same flags through `plan --write` into a project of its own: the stack files must be identical.
    assert new_project(tmp_path / "p", [CHAT], "--env", "prod") == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "Pulumi.yaml").write_text("name: other\nruntime: python\nstackConfigDir: stacks\n")
    assert main(["plan", str(CHAT), "--env", "prod", "--write", "-C", str(other), "--api-cidr", "203.0.113.0/24",
                 "--hf-token-secret", "servestack/hf-token", "--gcp-project", "proj-e2e", "--commitment-purchased",
                 "--json"]) == 0
    assert (tmp_path / "p/stacks/Pulumi.prod.yaml").read_text() == (other / "stacks/Pulumi.prod.yaml").read_text()


def test_dev_is_planned_under_the_dev_policy(tmp_path: Path, new_project) -> None:
    assert new_project(tmp_path / "p", [CHAT]) == 0
    dev = _stack(tmp_path / "p", "dev")["servestack:deployment"]
    prod = _stack(tmp_path / "p", "prod")["servestack:deployment"]
    assert (dev["pricingBase"], dev["pricingBurst"]) == ("spot", "spot")
    assert prod["pricingBase"] != "spot"  # chat-70b says spot: never
    assert "pricing.spot never -> only" in (tmp_path / "p/README.md").read_text()


def test_same_inputs_give_the_same_bytes(tmp_path: Path, new_project, project_files: Files) -> None:
    assert new_project(tmp_path / "a", [CHAT, SUMMARIZE]) == 0
    assert new_project(tmp_path / "b", [CHAT, SUMMARIZE]) == 0
    a, b = project_files(tmp_path / "a"), project_files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []


def test_a_second_run_with_update_changes_nothing(tmp_path: Path, new_project, project_files: Files) -> None:
    assert new_project(tmp_path / "p", [CHAT, SUMMARIZE]) == 0
    before = project_files(tmp_path / "p")
    assert main(["new", str(tmp_path / "p"), "--update"]) == 0  # workloads, envs and choices as recorded
    assert project_files(tmp_path / "p") == before


def test_two_workloads_share_one_prod_cluster_with_the_fleet_keys(tmp_path: Path, new_project) -> None:
    assert new_project(tmp_path / "p", [CHAT, SUMMARIZE], "--env", "prod") == 0
    config = _stack(tmp_path / "p", "prod")
    assert [w["name"] for w in config["servestack:workloads"]] == ["chat-70b", "summarize-8b"]
    # Different owners: each workload's block carries its own cost tags (showback); what they share is the
    # --shared-owner's.
    assert [w["tags"] for w in config["servestack:workloads"]] == [
        {"team": "assistant", "cost-center": "cc-4100"}, {"team": "docs-ai", "cost-center": "cc-4200"}]
    assert config["servestack:tags"] == {"team": "ml-platform", "cost-center": "cc-1000"}
    servers = config["servestack:fleet"]["servers"]
    assert [(s["workload"], s["pool"]) for s in servers] == [("chat-70b", "chat-70b"), ("summarize-8b", "summarize-8b")]
    where = {(s["deployment"]["cloud"], s["deployment"]["region"], s["deployment"]["zones"],
              tuple(s["deployment"]["zoneNames"])) for s in servers}
    assert len(where) == 1, where
    assert config["aws:region"] == servers[0]["deployment"]["region"]
    assert config["servestack:budgetMonthlyUsd"] == 80000 + 40000
    assert "servestack:workload" not in config and "servestack:deployment" not in config
    readme = (tmp_path / "p/README.md").read_text()
    assert "one cluster in aws/" in readme and "less than separate clusters" in readme
    # Each workload's plan report shows the joint plan's pick as the chosen stack, and the README links it.
    for server in servers:
        report = f"reports/prod-{server['workload']}.html"
        assert f"]({report})" in readme
        html = (tmp_path / "p" / report).read_text()
        assert server["deployment"]["region"] in html and server["deployment"]["instanceType"] in html


def test_separate_clusters_give_one_stack_per_workload(tmp_path: Path, new_project) -> None:
    # dev: chat-70b's cheapest spot stack and summarize-8b's are in different regions, and no single region
    # serves both for less than the two clusters with their own shared costs.
    assert new_project(tmp_path / "p", [CHAT, SUMMARIZE], "--env", "dev") == 0
    stacks = sorted(p.name for p in (tmp_path / "p/stacks").iterdir())
    assert stacks == ["Pulumi.dev-chat-70b.yaml", "Pulumi.dev-summarize-8b.yaml"]
    assert _stack(tmp_path / "p", "dev-chat-70b")["servestack:environment"] == "dev"
    assert "separate clusters:" in (tmp_path / "p/README.md").read_text()


def test_policy_config_allows_the_planned_accelerators(tmp_path: Path, new_project) -> None:
    assert new_project(tmp_path / "p", [CHAT, SUMMARIZE], "--env", "prod") == 0
    servers = _stack(tmp_path / "p", "prod")["servestack:fleet"]["servers"]
    config = json.loads((tmp_path / "p/policy/prod.json").read_text())
    assert config["allowed-accelerators"]["accelerators"] == sorted({s["deployment"]["accelerator"] for s in servers})


# ---- refusals --------------------------------------------------------------------------------------------

def test_a_directory_with_files_is_refused(tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    assert new_project(tmp_path, [CHAT]) == 2
    assert "DIR" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_update_needs_a_generated_project(tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    assert new_project(tmp_path, [CHAT], "--update") == 2
    assert "--update" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--env", "Prod_1"], "--env"),
        (["--env", "prod", "--env", "prod"], "--env"),
        (["--name", "my project"], "--name"),
        (["--api-cidr", "10.0.0.0/33"], "--api-cidr"),
        (["--hf-token-secret", "a b"], "--hf-token-secret"),
        (["--cluster-admin", "me"], "--cluster-admin"),
        (["--shared-owner", "ML Platform/cc-1"], "--shared-owner"),
        (["--shared-owner", "ml-platform"], "--shared-owner"),
    ],
    ids=["env-not-a-label", "env-twice", "name-with-space", "bad-cidr", "bad-secret-name", "bad-admin",
         "owner-not-a-label", "owner-without-cost-center"],
)
def test_bad_flags_exit_2_naming_the_flag(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str], extra: list[str], field: str
) -> None:
    assert new_project(tmp_path / "p", [CHAT], *extra, choices=False) == 2
    assert field in capsys.readouterr().err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_two_workloads_with_one_name_exit_2(tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_project(tmp_path / "p", [CHAT, CHAT]) == 2
    assert "--workload" in capsys.readouterr().err


def test_a_bad_spec_exits_2_naming_the_field(tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(CHAT.read_text().replace("peak_requests_per_s: 12", "peak_requests_per_s: -1"))
    assert new_project(tmp_path / "p", [spec]) == 2
    assert "peak_requests_per_s" in capsys.readouterr().err


# ---- --update keeps what a person edited (the Done-when test) -------------------------------------------

def test_update_keeps_edits_while_plan_owned_values_change(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [CHAT], "--env", "prod") == 0
    before = _stack(project, "prod")

    # A person edits a generated file and one stack value servestack owns.
    main_py = project / "__main__.py"
    edited_program = main_py.read_text() + "\npulumi.export('team', 'ml-platform')\n"
    main_py.write_text(edited_program)
    stack_file = project / "stacks/Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text().replace("servestack:budgetMonthlyUsd: 80000",
                                                         "servestack:budgetMonthlyUsd: 95000"))
    # The traffic triples, so the plan moves.
    spec = project / "workloads/chat-70b.yaml"
    spec.write_text(spec.read_text().replace("peak_requests_per_s: 12, avg_requests_per_s: 5",
                                             "peak_requests_per_s: 36, avg_requests_per_s: 15"))
    capsys.readouterr()

    assert main(["new", str(project), "--update"]) == 0
    out = capsys.readouterr().out
    after = _stack(project, "prod")

    assert main_py.read_text() == edited_program
    assert after["servestack:budgetMonthlyUsd"] == 95000
    assert after["servestack:workload"]["traffic"]["peakRequestsPerS"] == 36
    moved, was = after["servestack:deployment"], before["servestack:deployment"]
    assert (moved["instanceType"], moved["replicasAvg"], moved["replicasPeak"]) != (
        was["instanceType"], was["replicasAvg"], was["replicasPeak"])
    assert "__main__.py" in out and "servestack:budgetMonthlyUsd" in out  # both listed as skipped
    # The README was not edited, so it shows the new plan.
    readme = (project / "README.md").read_text()
    assert f"| {moved['instanceType']} |" in readme
    assert f"| {moved['replicasMin']}/{moved['replicasAvg']}/{moved['replicasPeak']} |" in readme

    # --force replaces both edits.
    assert main(["new", str(project), "--update", "--force"]) == 0
    assert "pulumi.export('team'" not in main_py.read_text()
    assert _stack(project, "prod")["servestack:budgetMonthlyUsd"] == 80000


def test_update_reports_a_file_it_did_not_write(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [CHAT], "--env", "prod") == 0
    (project / ".gitignore").unlink()
    manifest = json.loads((project / ".servestack/manifest.json").read_text())
    del manifest["files"][".gitignore"]
    (project / ".servestack/manifest.json").write_text(json.dumps(manifest))
    (project / ".gitignore").write_text("my own\n")
    capsys.readouterr()
    assert main(["new", str(project), "--update"]) == 0
    assert ".gitignore: not written by servestack" in capsys.readouterr().out
    assert (project / ".gitignore").read_text() == "my own\n"


def test_a_damaged_manifest_exits_2_naming_it(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [CHAT], "--env", "prod") == 0
    (project / ".servestack/manifest.json").write_text("{not json")
    capsys.readouterr()
    assert main(["new", str(project), "--update"]) == 2
    assert "manifest.json" in capsys.readouterr().err


def test_a_stack_the_plan_no_longer_has_is_listed_and_kept(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [CHAT], "--env", "prod", "--env", "staging") == 0
    capsys.readouterr()
    assert main(["new", str(project), "--update", "--env", "prod"]) == 0
    assert "stacks/Pulumi.staging.yaml" in capsys.readouterr().out
    assert (project / "stacks/Pulumi.staging.yaml").is_file()


def test_json_says_which_mode_each_environment_took(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert new_project(tmp_path / "p", [CHAT, SUMMARIZE], "--json") == 0
    doc = json.loads(capsys.readouterr().out)
    modes = {e["env"]: e["mode"] for e in doc["environments"]}
    assert modes == {"dev": "separate_clusters", "prod": "one_cluster"}
    prod = next(e for e in doc["environments"] if e["env"] == "prod")
    joint = prod["joint"]
    separate, one = joint["separate_clusters"], joint["one_cluster"]
    assert joint["saving_usd_month"] == pytest.approx(
        separate["monthly_usd_expected"] - one["monthly_usd_expected"], abs=0.02)


def test_a_generated_file_edited_into_binary_is_skipped(
    tmp_path: Path, new_project, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert new_project(project, [CHAT], "--env", "prod") == 0
    (project / ".gitignore").write_bytes(b"\xff\xfe binary\n")
    capsys.readouterr()
    assert main(["new", str(project), "--update"]) == 0
    assert ".gitignore: edited since servestack last wrote it" in capsys.readouterr().out
    assert (project / ".gitignore").read_bytes() == b"\xff\xfe binary\n"


def test_different_owners_without_a_shared_owner_leave_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", str(tmp_path / "p"), "--workload", str(CHAT), "--workload", str(SUMMARIZE), "--env", "prod",
                 "--api-private"]) == 0
    assert "--shared-owner" in capsys.readouterr().out
    assert "servestack:tags" not in _stack(tmp_path / "p", "prod")


def test_choices_the_program_needs_and_nobody_made_are_named_until_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    assert main(["new", str(project), "--workload", str(SUMMARIZE), "--env", "prod"]) == 0
    out = capsys.readouterr().out.replace("\n", "")
    assert "stack prod: `servestack preview`, `check` and `pulumi up` stop until you choose" in out
    assert "servestack:apiAccess" in out and "gated meta-llama/Llama-3.1-8B-Instruct" in out, out
    # A key set by hand counts as chosen, as the program reads it.
    path = project / "stacks" / "Pulumi.prod.yaml"
    path.write_text(path.read_text() + "  servestack:apiAccess:\n    mode: private\n    cidrs: []\n")
    assert main(["new", str(project), "--update", "--hf-token-secret", "servestack/hf-token"]) == 0
    assert "stop until you choose" not in capsys.readouterr().out


def test_what_the_budget_pack_will_say_is_named_when_generating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # chat-70b plans a 1y-committed floor in prod; dev runs spot only, with nothing to commit.
    assert main(["new", str(tmp_path / "p"), "--workload", str(CHAT), "--api-private"]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "stack prod: the plan prices its always-on floor at the 1y commitment" in out, out
    assert "stack dev: the plan prices" not in out and "has no budget" not in out
    assert main(["new", str(tmp_path / "p"), "--update", "--commitment-purchased"]) == 0
    assert "commitment" not in capsys.readouterr().out.replace("--commitment-purchased", "")
    # A workload without a budget leaves its stack without one, and the budget pack fails closed on that.
    unbudgeted = tmp_path / "summarize.yaml"
    unbudgeted.write_text("\n".join(line for line in SUMMARIZE.read_text().splitlines()
                                    if not line.startswith("budget:")) + "\n")
    assert main(["new", str(tmp_path / "q"), "--workload", str(unbudgeted), "--env", "prod", "--api-private"]) == 0
    assert "stack prod has no budget" in capsys.readouterr().out.replace("\n", " ")
