"""Planning a project: every environment's stacks, from the workload specs, before anything is written.

One workload: each environment is one stack, planned exactly as `servestack plan --env ENV --write` plans it.
Several workloads: each environment is planned jointly (`servestack.selector.joint`); one cluster gives one
stack `<env>` holding every workload (the fleet keys of the deployment contract), separate clusters give
one stack per workload, `<env>-<workload>`, each as `plan --write` would write it.

Mixed fleets: when a workload's plan serves its request classes on several pools (`Plan.mixed`), its stack is
that fleet, with exactly the keys `plan --write` writes for it (`servestack.generate.fleet_keys`): one server
per pool, each naming the classes it serves. In a shared cluster the joint plan decides whether the workload
takes its mixed pools or a homogeneous stack; the fleet then holds a server for every pool of every workload.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servestack.contract.environment import environment_adjustments, spec_for_environment
from servestack.errors import ServestackError
from servestack.generate import StackChoices, fleet_keys, owned_stack_config
from servestack.selector import Plan, plan
from servestack.selector.joint import JointPlan, joint_plan, pool_own_usd, shared_monthly_usd, with_zones

if TYPE_CHECKING:
    from servestack.catalog import Catalog
    from servestack.contract import Deployment
    from servestack.contract.fleet import Fleet
    from servestack.selector import Candidate
    from servestack.selector.mixed import MixedFleet
    from servestack.workload import WorkloadSpec
    from servestack.workload.spec import Owner

__all__ = [
    "InfeasibleProjectError", "ReportSource", "ServerRow", "StackPlan", "EnvPlan", "fleet_stack_config",
    "plan_environment",
]

_PER_WORKLOAD_KEYS = ("servestack:environment", "servestack:budgetMonthlyUsd", "servestack:workload",
                      "servestack:deployment", "servestack:tags")


class InfeasibleProjectError(ServestackError):
    """No stack meets a workload in an environment (exit 1, as `plan` exits on an infeasible spec)."""

    exit_code = 1


@dataclass(frozen=True)
class ServerRow:
    """One server's line in a stack's plan table (USD per month; `own_*` excludes the shared platform).

    A workload on a mixed fleet has a line per pool (`pool` and the `classes` it serves; a pool's own cost
    has no load balancer: the router's is shared)."""

    workload: str
    cloud: str
    region: str
    instance_type: str
    accelerator: str
    accelerators_per_node: int
    replicas: str
    nodes: str
    pricing: str
    own_expected: float
    own_ceiling: float
    pool: str = ""
    """The mixed fleet pool of this line ("" for a workload served by one pool)."""
    classes: tuple[str, ...] = ()
    """The request classes the pool serves (empty for a workload served by one pool)."""


@dataclass(frozen=True)
class ReportSource:
    """What one plan report shows: a workload's plan (its chosen stack first) and the deployment written."""

    workload: str
    spec: WorkloadSpec
    """As planned (after the environment's adjustments and the joint plan's zones)."""
    plan: Plan
    deployment: Deployment


@dataclass(frozen=True)
class StackPlan:
    """One stack file to write: its owned config keys and what the README shows about it."""

    name: str
    kind: str
    owned: dict[str, Any]
    rows: tuple[ServerRow, ...]
    shared_expected: float
    """The cluster's shared platform (control plane, NAT, system nodes), paid once."""
    expected: float
    ceiling: float
    budget: float | None
    accelerators: tuple[str, ...]
    workloads: tuple[str, ...]
    reports: tuple[ReportSource, ...]
    routed: bool = False
    """A mixed fleet's router (one Gateway and its load balancer, in the shared cost) runs in this stack."""


@dataclass(frozen=True)
class EnvPlan:
    """One environment: its stacks and, for several workloads, the joint plan's choice."""

    env: str
    kind: str
    adjustments: tuple[str, ...]
    stacks: tuple[StackPlan, ...]
    joint: JointPlan | None

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env, "kind": self.kind, "adjustments": list(self.adjustments),
            "mode": self.joint.mode if self.joint else "one_cluster",
            "summary": self.joint.summary() if self.joint else None,
            "joint": self.joint.to_json() if self.joint else None,
            "stacks": [{"stack": s.name, "workloads": list(s.workloads), "monthly_usd_expected": round(s.expected, 2),
                        "monthly_usd_ceiling": round(s.ceiling, 2), "shared_monthly_usd": round(s.shared_expected, 2)}
                       for s in self.stacks],
        }


def _row(c: Candidate) -> ServerRow:
    return ServerRow(
        workload="", cloud=c.cloud, region=c.region, instance_type=c.instance_type, accelerator=c.accelerator,
        accelerators_per_node=c.accelerators_per_node,
        replicas=f"{c.replicas_min}/{c.replicas_avg}/{c.replicas_peak}", nodes=f"{c.nodes_min}/{c.nodes_peak}",
        pricing=f"{c.pricing_base}+{c.pricing_burst}",
        own_expected=c.monthly_usd_expected - shared_monthly_usd(c.cloud, c.zones, c.nodes_avg),
        own_ceiling=c.monthly_usd_ceiling - shared_monthly_usd(c.cloud, c.zones, c.nodes_peak),
    )


def _named(row: ServerRow, workload: str) -> ServerRow:
    return dataclasses.replace(row, workload=workload)


def _pool_rows(workload: str, fleet: MixedFleet) -> tuple[ServerRow, ...]:
    """A mixed fleet's lines: one per pool, its own cost without the cluster's platform and router."""
    rows = []
    for pool in fleet.pools:
        expected, ceiling = pool_own_usd(pool.candidate)
        rows.append(dataclasses.replace(_row(pool.candidate), workload=workload, own_expected=expected,
                                        own_ceiling=ceiling, pool=pool.name, classes=pool.classes))
    return tuple(rows)


def _mixed_stack(name: str, kind: str, spec: WorkloadSpec, result: Plan, fleet: MixedFleet, catalog: Catalog,
                 choices: StackChoices) -> StackPlan:
    """A one-workload stack on its mixed fleet: the keys `plan --write` writes for it (`fleet_keys`)."""
    contract = fleet.fleet(spec, catalog)
    deployment = contract.servers[0].deployment
    owned = fleet_keys(owned_stack_config(spec, deployment, kind, choices), contract)
    rows = _pool_rows(spec.name, fleet)
    return StackPlan(
        name=name, kind=kind, owned=owned, rows=rows,
        shared_expected=fleet.monthly_usd_expected - sum(r.own_expected for r in rows),
        expected=fleet.monthly_usd_expected, ceiling=fleet.monthly_usd_ceiling, budget=spec.budget.monthly_usd,
        accelerators=tuple(sorted({p.candidate.accelerator for p in fleet.pools})), workloads=(spec.name,),
        reports=(ReportSource(spec.name, spec, result, deployment),), routed=True,
    )


def _single_stack(name: str, kind: str, spec: WorkloadSpec, result: Plan, catalog: Catalog,
                  choices: StackChoices) -> StackPlan:
    """A one-workload stack, with the keys `plan --write` writes (its mixed fleet when the plan chose one)."""
    if result.mixed is not None:
        return _mixed_stack(name, kind, spec, result, result.mixed, catalog, choices)
    c = result.chosen
    assert c is not None  # the caller raises on an infeasible plan
    deployment = c.deployment(spec, catalog)
    owned = owned_stack_config(spec, deployment, kind, choices)
    return StackPlan(
        name=name, kind=kind, owned=owned, rows=(_named(_row(c), spec.name),),
        shared_expected=shared_monthly_usd(c.cloud, c.zones, c.nodes_avg),
        expected=c.monthly_usd_expected, ceiling=c.monthly_usd_ceiling, budget=spec.budget.monthly_usd,
        accelerators=(c.accelerator,), workloads=(spec.name,),
        reports=(ReportSource(spec.name, spec, result, deployment),),
    )


def _whole(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def fleet_stack_config(
    specs: Sequence[WorkloadSpec], deployments: Sequence[Deployment | Fleet], kind: str, choices: StackChoices,
    shared_owner: Owner | None = None,
) -> dict[str, Any]:
    """The owned keys of one stack serving several workloads (servestack:workloads + servestack:fleet).

    Each workload is given by its deployment (one server, the pool named after the workload) or by its mixed
    fleet's contract (a server per pool, with the classes each serves, as `fleet_keys` writes them).
    Each workload's block and deployment are those `owned_stack_config` writes for it alone (the block also
    carries its owner's tags when the workloads' owners differ); the stack-wide keys (access, credentials,
    region) are the same for every workload and written once. `shared_owner` owns what the workloads share
    (cluster, network, system nodes) when their owners differ; else their common owner does."""
    from servestack.contract import Deployment

    per = [owned_stack_config(s, d if isinstance(d, Deployment) else d.servers[0].deployment, kind, choices)
           for s, d in zip(specs, deployments, strict=True)]
    owned: dict[str, Any] = {"servestack:environment": kind}
    budgets = [s.budget.monthly_usd for s in specs]
    if all(b is not None for b in budgets):
        owned["servestack:budgetMonthlyUsd"] = _whole(sum(b for b in budgets if b is not None))
    tags = {json.dumps(p.get("servestack:tags"), sort_keys=True) for p in per}
    same_owner = len(tags) == 1
    # Owners differ: each workload carries its own (showback by owner on its own resources); else the stack's.
    owned["servestack:workloads"] = [
        p["servestack:workload"] if same_owner or "servestack:tags" not in p
        else {**p["servestack:workload"], "tags": p["servestack:tags"]}
        for p in per
    ]
    owned["servestack:fleet"] = {"servers": [
        server
        for s, p, d in zip(specs, per, deployments, strict=True)
        for server in ([{"workload": s.name, "pool": s.name, "deployment": p["servestack:deployment"]}]
                       if isinstance(d, Deployment) else d.to_stack_config()["servers"])
    ]}
    if shared_owner is not None and not same_owner:
        owned["servestack:tags"] = {"team": shared_owner.team, "cost-center": shared_owner.cost_center}
    elif same_owner and per[0].get("servestack:tags") is not None:
        owned["servestack:tags"] = per[0]["servestack:tags"]
    for p in per:
        for key, value in p.items():
            if key in _PER_WORKLOAD_KEYS:
                continue
            if key == "servestack:commitmentPurchased":
                owned[key] = bool(owned.get(key, False)) or bool(value)
            else:
                owned.setdefault(key, value)
    return owned


def _joint_report(spec: WorkloadSpec, chosen: Candidate, mixed: MixedFleet | None, deployment: Deployment,
                  catalog: Catalog) -> ReportSource:
    """A workload's report in a shared cluster: its own plan with the joint plan's pick as the chosen stack
    (its mixed fleet when it takes those pools; else the homogeneous pick, without the mixed fleet)."""
    own = plan(spec, catalog)
    if mixed is not None:
        return ReportSource(spec.name, spec, dataclasses.replace(own, mixed=mixed), deployment)
    rest = tuple(c for c in own.candidates if c.to_json() != chosen.to_json())
    return ReportSource(spec.name, spec, dataclasses.replace(own, candidates=(chosen, *rest), mixed=None),
                        deployment)


def _first_deployment(server: Deployment | Fleet) -> Deployment:
    """A workload's deployment, or its mixed fleet's first pool's (what its plan report shows)."""
    from servestack.contract import Deployment

    return server if isinstance(server, Deployment) else server.servers[0].deployment


def _in_zones(fleet: Fleet, zone_names: Sequence[str]) -> Fleet:
    """`fleet` with every server's deployment on the shared cluster's zones."""
    servers = [s.model_copy(update={"deployment": s.deployment.model_copy(update={"zone_names": list(zone_names)})})
               for s in fleet.servers]
    return fleet.model_copy(update={"servers": servers})


def _infeasible(env: str, plans: Sequence[Any]) -> InfeasibleProjectError:
    parts = [f"{p.workload}: binding constraint {p.binding_constraint}; {p.hint}" for p in plans if not p.feasible]
    return InfeasibleProjectError(f"environment {env}: no stack meets " + "; ".join(parts))


def plan_environment(
    env: str, kind: str, specs: Sequence[WorkloadSpec], catalog: Catalog, choices: StackChoices,
    shared_owner: Owner | None = None,
) -> EnvPlan:
    """Plan environment `env` (of `kind`) for `specs`; raises `InfeasibleProjectError` when a workload has no
    feasible stack, `SpecError` naming model.checkpoint when a deployment cannot be written."""
    adjustments = tuple(line for s in specs for line in
                        ([f"{s.name}: {a}" for a in environment_adjustments(s, kind)] if len(specs) > 1
                         else environment_adjustments(s, kind)))
    planned = [spec_for_environment(s, kind) for s in specs]
    if len(planned) == 1:
        result = plan(planned[0], catalog)
        if result.chosen is None:
            raise _infeasible(env, [result])
        return EnvPlan(env, kind, adjustments, (_single_stack(env, kind, planned[0], result, catalog, choices),), None)
    joint = joint_plan(planned, catalog)
    if not joint.feasible:
        raise _infeasible(env, joint.separate)
    spread = [with_zones(s, joint.zones) for s in planned]
    one = joint.one_cluster
    if joint.mode == "separate_clusters" or one is None:
        stacks = []
        for spec in planned:  # each workload's own cluster, over the zones its own spec asks for
            stacks.append(_single_stack(f"{env}-{spec.name}", kind, spec, plan(spec, catalog), catalog, choices))
        return EnvPlan(env, kind, adjustments, tuple(stacks), joint)
    fleets = one.workload_fleets()
    servers: list[Deployment | Fleet] = [
        c.deployment(s, catalog).model_copy(update={"zone_names": list(one.zone_names)}) if m is None
        else _in_zones(m.fleet(s, catalog), one.zone_names)
        for s, c, m in zip(spread, one.candidates, fleets, strict=True)
    ]
    owned = fleet_stack_config(spread, servers, kind, choices, shared_owner)
    rows = tuple(row for s, c, m in zip(spread, one.candidates, fleets, strict=True)
                 for row in ((_named(_row(c), s.name),) if m is None else _pool_rows(s.name, m)))
    first_deployments = [_first_deployment(d) for d in servers]
    stack = StackPlan(
        name=env, kind=kind, owned=owned, rows=rows, shared_expected=one.shared_expected,
        expected=one.monthly_usd_expected, ceiling=one.monthly_usd_ceiling, budget=joint.budget_usd,
        accelerators=tuple(sorted({r.accelerator for r in rows})), workloads=joint.workloads,
        reports=tuple(_joint_report(s, c, m, d, catalog)
                      for s, c, m, d in zip(spread, one.candidates, fleets, first_deployments, strict=True)),
        routed=one.routed,
    )
    return EnvPlan(env, kind, adjustments, (stack,), joint)
