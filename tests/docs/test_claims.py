"""Claims of README.md, docs/ and the workflow comments that no code block exercises, checked against the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RETIRED_KEYS = ("servedModel", "publicEndpointCidrs")


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in DOCS)


def test_every_environment_variable_servestack_reads_is_documented() -> None:
    read = set()
    for file in (ROOT / "servestack").rglob("*.py"):
        text = file.read_text(encoding="utf-8")
        read |= set(re.findall(r"environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
        read |= set(re.findall(r"getenv\(\s*\"([A-Z][A-Z0-9_]+)\"", text))
    assert {"XDG_CACHE_HOME", "SERVESTACK_DEBUG"} <= read  # the scan itself still finds what it looks for
    docs = _docs_text()
    assert not {v for v in read if f"`{v}`" not in docs}, "environment variables read but not documented"


def test_every_stack_key_the_program_reads_is_in_the_deploy_reference() -> None:
    from servestack.components import config

    reference = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8").split("## 8. Reference", 1)[1]
    missing = [k for k in (*config._KEYS, *config._OTHER_KEYS) if f"`servestack:{k}`" not in reference]
    assert not missing, f"docs/deploy.md section 8 does not list {missing}"
    assert all(f"`servestack:{k}`" in reference for k in RETIRED_KEYS)


@pytest.mark.parametrize("key", RETIRED_KEYS)
def test_retired_keys_are_refused_by_name(key: str) -> None:
    from servestack.components.config import DeploymentConfig
    from servestack.errors import ConfigError

    with pytest.raises(ConfigError, match=f"servestack:{key}: unknown key"):
        DeploymentConfig.from_mapping({key: "x"})


def test_spot_allowed_floor_is_at_least_one_replica_per_zone() -> None:
    """README: the floor is at least max(min_replicas, zones) replicas, not min_replicas."""
    from servestack.catalog import load_catalog
    from servestack.selector import plan
    from servestack.workload.load import parse_spec

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "at least `max(min_replicas, zones)` replicas" in readme
    spec = parse_spec(
        (ROOT / "examples" / "summarize-8b.yaml").read_text(encoding="utf-8")
        .replace("min_replicas: 2, zones: 2", "min_replicas: 1, zones: 3")
    )
    chosen = plan(spec, load_catalog()).chosen
    assert chosen is not None
    assert chosen.replicas_min >= 3 > spec.availability.min_replicas
    assert chosen.pricing_base != "spot"


# Upper-case words a header comment may use that are not settings of the file (words, or read by the tools it runs).
_EXTERNAL = {"PULUMI_BACKEND_URL", "BASE", "GITHUB_TOKEN", "OIDC", "AWS", "GCP", "CLI", "CODEOWNERS"}


@pytest.mark.parametrize("workflow", sorted((ROOT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_workflow_header_names_only_settings_that_exist(workflow: Path) -> None:
    text = workflow.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines()[:15] if line.startswith("#"))
    body = yaml.safe_load(text)
    env = set(body.get("env", {}))
    secrets = set(re.findall(r"secrets\.([A-Z_]+)", text))
    variables = set(re.findall(r"vars\.([A-Z_]+)", text))
    matrix = {f"matrix.{k}" for job in body["jobs"].values()
              for k in job.get("strategy", {}).get("matrix", {})}
    named = set(re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", header)) - _EXTERNAL
    unknown = named - env - secrets - variables
    assert not unknown, f"{workflow.name}: the header names {sorted(unknown)}, which the workflow does not use"
    for setting in re.findall(r"`(matrix\.[a-z_]+)`", header):
        assert setting in matrix, f"{workflow.name}: the header names {setting}, which the workflow has not"


def _cold_start_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| example | stack | checkpoint |"):].split("\n\n", 1)[0].splitlines()[2:]
    return [[c.strip() for c in row.strip().strip("|").split("|")] for row in table]


def test_readme_cold_start_table_is_what_plan_gives() -> None:
    """README's cold-start table, row by row, against each example's plan (`plan EXAMPLE --json`)."""
    from servestack.catalog import load_catalog
    from servestack.selector import plan
    from servestack.workload import load_spec

    catalog = load_catalog()
    specs = {s.name: s for s in (load_spec(p) for p in sorted((ROOT / "examples").glob("*.yaml")))}
    rows = _cold_start_rows()
    assert sorted(r[0] for r in rows) == sorted(specs)
    for name, stack, checkpoint, gib, mibps, node_min, pod_min, budget_min in rows:
        result = plan(specs[name], catalog)
        assert result.chosen is not None, name
        # A mixed fleet's row names every pool's node type; its budgets are the slowest pool's.
        pools = ([server.deployment for server in result.mixed.fleet(specs[name], catalog).servers]
                 if result.mixed is not None else [result.chosen.deployment(specs[name], catalog)])
        d = max(pools, key=lambda p: p.serving.node_launch_s + p.serving.startup_budget_s)
        s = d.serving
        nodes = f" x{d.nodes_per_replica}" if d.nodes_per_replica > 1 else ""
        gated = " (gated)" if s.gated else ""
        throughput = str(d.root_volume_throughput_mibps) if d.cloud == "aws" else "-"
        instances = " + ".join(p.instance_type for p in pools)
        assert [stack, checkpoint, float(gib), mibps, int(node_min), int(pod_min), int(budget_min)] == [
            f"{d.cloud} {instances}{nodes}", f"{s.checkpoint}{gated}", s.checkpoint_gib, throughput,
            s.node_launch_s // 60, s.startup_budget_s // 60, (s.node_launch_s + s.startup_budget_s) // 60,
        ], f"README cold-start row {name}"


def _rule_table(heading: str) -> list[tuple[str, str, str]]:
    text = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    section = text[text.index(heading):]
    table = section[section.index("| id | name | level |"):].split("\n\n", 1)[0].splitlines()[2:]
    return [tuple(c.strip() for c in row.strip().strip("|").split("|")[:3]) for row in table]  # type: ignore[misc]


@pytest.mark.parametrize(("heading", "pack_name"), [
    ("## Guardrails (`servestack-guardrails`)", "guardrails"),
    ("## Budget rules (`servestack-budget`)", "budget"),
])
def test_policies_doc_lists_every_rule_of_each_pack_with_its_level(heading: str, pack_name: str) -> None:
    from servestack.policies.packs import pack

    shipped = [(rule.id, rule.name, level) for rule, level in pack(pack_name).rules()]
    assert sorted(_rule_table(heading)) == sorted(shipped)


# The plan JSON fields of the design contract; docs/architecture.md lists what plan adds to them.
_DESIGN_PLAN_KEYS = {"workload", "feasible", "catalog", "chosen", "candidates", "rejected"}
_DESIGN_CANDIDATE_KEYS = {
    "cloud", "region", "instance_type", "accelerator", "accelerators_per_node", "tensor_parallel", "replicas_min",
    "replicas_peak", "nodes_min", "nodes_peak", "pricing_base", "pricing_burst", "hourly_usd_per_node",
    "monthly_usd_expected", "monthly_usd_ceiling", "estimate",
}


@pytest.mark.parametrize("spec", ["chat-70b.yaml", "llama-405b.yaml"])
def test_architecture_names_every_plan_json_field(spec: str) -> None:
    import json
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "servestack.cli", "plan", str(ROOT / "examples" / spec), "--json"],
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    doc = json.loads(proc.stdout)
    contracts = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").split("## Contracts", 1)[1]
    named = set(re.findall(r"`([a-z_0-9]+)[`:]", contracts))
    unnamed = (set(doc) - _DESIGN_PLAN_KEYS - named) | (set(doc["chosen"]) - _DESIGN_CANDIDATE_KEYS - named)
    assert not unnamed, f"docs/architecture.md's Contracts section does not name plan JSON fields {sorted(unnamed)}"
