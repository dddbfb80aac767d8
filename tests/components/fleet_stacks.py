"""Two-workload stacks written by hand from two real plans: the multi-workload keys a joint plan would write.

Each workload is planned alone by the selector (placement forced to one cloud and region), and the candidate
kept is the cheapest whose zones match the first workload's, so both servers fit the one cluster. The stack
keys are what `plan --write` writes for each (servestack.generate.stack_config), folded into
`servestack:workloads` + `servestack:fleet`.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from servestack.catalog import load_catalog
from servestack.contract import Deployment
from servestack.generate.stack_config import StackChoices, owned_stack_config
from servestack.selector.plan import plan
from servestack.workload import WorkloadSpec, load_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHARED_OWNER = {"team": "ml-platform", "cost-center": "cc-1000"}
"""Who pays for the shared cluster (the platform team); each workload keeps its own owner."""


@dataclass(frozen=True)
class PlannedServer:
    spec: WorkloadSpec
    deployment: Deployment
    monthly_usd_expected: float
    monthly_usd_ceiling: float
    single_stack: dict[str, Any]
    """The stack `plan --write` would record for this workload alone (fully qualified keys)."""


# (example, cloud, region): the pairs the tests deploy.
AWS_PAIR = (("chat-70b", "aws", "us-east-1"), ("summarize-8b", "aws", "us-east-1"))
GCP_PAIR = (("mixtral-moe", "gcp", "us-central1"), ("dev-7b-spot", "gcp", "us-central1"))


def plan_server(example: str, cloud: str, region: str, zone_names: list[str] | None = None) -> PlannedServer:
    """The cheapest candidate of `example` in `region` (with these zones, when given), as a deployment."""
    spec = load_spec(EXAMPLES / f"{example}.yaml")
    spec = spec.model_copy(update={"placement": spec.placement.model_copy(update={"clouds": [cloud],
                                                                                   "regions": [region]})})
    catalog = load_catalog()
    result = plan(spec, catalog, top=100)
    for candidate in result.candidates:
        deployment = candidate.deployment(spec, catalog)
        if zone_names is None or deployment.zone_names == zone_names:
            choices = StackChoices(hf_token_secret="servestack/hf-token", commitment_purchased=True,
                                   gcp_project="proj-e2e" if cloud == "gcp" else None)
            stack = owned_stack_config(spec, deployment, "prod", choices)
            return PlannedServer(spec, deployment, candidate.monthly_usd_expected, candidate.monthly_usd_ceiling,
                                 stack)
    raise AssertionError(f"no candidate of {example} in {region} with zones {zone_names}")


def plan_pair(pair: tuple[tuple[str, str, str], ...]) -> list[PlannedServer]:
    first = plan_server(*pair[0])
    return [first, *(plan_server(*entry, zone_names=list(first.deployment.zone_names)) for entry in pair[1:])]


def fleet_stack(servers: list[PlannedServer]) -> dict[str, Any]:
    """The multi-workload stack config (fully qualified keys) of `servers`, one pool per workload."""
    first = servers[0].single_stack
    workloads = []
    for server in servers:
        block = dict(server.single_stack["servestack:workload"])
        owner = server.spec.owner
        if owner is not None:
            block["tags"] = {"team": owner.team, "cost-center": owner.cost_center}
        workloads.append(block)
    config: dict[str, Any] = {
        "servestack:environment": "prod",
        "servestack:budgetMonthlyUsd": sum(s.spec.budget.monthly_usd or 0 for s in servers),
        "servestack:workloads": workloads,
        "servestack:fleet": {"servers": [
            {"workload": s.spec.name, "pool": s.spec.name, "deployment": s.deployment.to_stack_config()}
            for s in servers
        ]},
        "servestack:tags": SHARED_OWNER,
        "servestack:apiAccess": {"mode": "cidrs", "cidrs": ["203.0.113.0/24"]},
        "servestack:hfTokenSecret": "servestack/hf-token",
        "servestack:commitmentPurchased": True,
    }
    for key in ("aws:region", "gcp:region", "gcp:project"):
        if key in first:
            config[key] = first[key]
    return config


def write_project(directory: Path, stack: str, config: dict[str, Any]) -> Path:
    """A project like the repository's (its Pulumi.yaml and __main__.py) holding one stack file."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, directory / name)
    (directory / "stacks").mkdir(exist_ok=True)
    (directory / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return directory
