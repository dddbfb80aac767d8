"""The fleet contract: several model servers in one cluster (see docs/architecture.md, "Fleets").

A stack is a cluster plus N *servers*. A server is one workload on one accelerator pool: the workload's name,
the pool's name (which names its node groups and Kubernetes objects), the pool's `Deployment`, and -- when one
workload is served by several pools (a mixed fleet) -- the request size classes the pool serves.

Two stack-config shapes describe a fleet:
- the single-workload keys `servestack:workload` + `servestack:deployment` mean one server (`Fleet.single`);
- `servestack:workloads` (a list of workload blocks) + `servestack:fleet` (`{servers: [...]}`, this model).

Every reader (program, costing, packs, monitoring) iterates `Fleet.servers`, whichever shape the stack used.
The validators below are the only place a fleet's rules are checked. Pulumi-free.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from servestack.contract.model import Deployment, _Camel, _whole

__all__ = ["Fleet", "FleetServer", "FleetRuleError", "RequestClass", "RESERVED_POOLS", "SHARE_TOLERANCE"]

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_RULE = "must be a DNS-1123 label: lower-case letters, digits and '-', 1-63 characters"

RESERVED_POOLS = frozenset({"system"})
"""Pool names the cluster itself uses: its system nodes carry `servestack.io/pool: system`."""

SHARE_TOLERANCE = 1e-6
"""How far a mixed fleet's request-class shares may sum away from 1 (float rounding of YAML decimals)."""

# The fields every server of one cluster shares: a fleet is one cloud, one region, one set of zones.
_CLUSTER_FIELDS = (("cloud", "cloud"), ("region", "region"), ("zones", "zones"), ("zone_names", "zoneNames"))


class FleetRuleError(ValueError):
    """A broken fleet rule, with the path (inside `servestack:fleet`) of the value that breaks it.

    `path` is like `servers[1].deployment.region`, so the config reader can name the whole key
    (`servestack:fleet.servers[1].deployment.region`).
    """

    def __init__(self, path: str, message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{path}: {message}")


def _dns_label(value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ValueError(_DNS_RULE)
    return value


class RequestClass(_Camel):
    """One request size class a pool of a mixed fleet serves (issue 12): its share of the workload's requests."""

    name: str
    """DNS-1123 label, unique among the workload's classes (e.g. `short`, `long`)."""
    share: float = Field(gt=0.0, le=1.0)
    """Fraction of the workload's requests in this class; a workload's shares sum to 1."""
    input_tokens: int = Field(ge=1)
    """Prompt tokens of a request of this class."""
    output_tokens: int = Field(ge=1)
    """Generated tokens of a request of this class."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _dns_label(value)

    @field_validator("input_tokens", "output_tokens", mode="before")
    @classmethod
    def _ints(cls, value: Any) -> Any:
        return _whole(value)


class FleetServer(_Camel):
    """One model server: a workload on one accelerator pool."""

    workload: str
    """Names an entry of `servestack:workloads` (its `name`)."""
    pool: str
    """DNS-1123 label, unique in the stack: names the pool's node groups and Kubernetes objects."""
    request_classes: list[RequestClass] | None = None
    """The classes this pool serves; only (and always) when its workload has more than one server."""
    deployment: Deployment
    """Exactly the `servestack:deployment` schema: this pool's shape, counts and prices."""

    @field_validator("workload")
    @classmethod
    def _workload(cls, value: str) -> str:
        return _dns_label(value)

    @field_validator("pool")
    @classmethod
    def _pool(cls, value: str) -> str:
        if value in RESERVED_POOLS:
            raise ValueError(f"{value!r} is the cluster's own node pool; choose another name")
        return _dns_label(value)


class Fleet(_Camel):
    """`servestack:fleet`: the servers of one cluster, with the rules between them (see the module doc).

    Validate with `Fleet.model_validate(value, context={"workloads": names})` (or `from_stack_config`) to also
    check the servers against the workload names of `servestack:workloads`.
    """

    servers: list[FleetServer] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> Fleet:
        self._one_cluster()
        self._unique_pools()
        context = info.context if isinstance(info.context, dict) else {}
        names = context.get("workloads")
        if names is not None:
            self.check_workloads(names)
        self._request_classes()
        return self

    def _one_cluster(self) -> None:
        first = self.servers[0].deployment
        for index, server in enumerate(self.servers[1:], start=1):
            for field, key in _CLUSTER_FIELDS:
                mine, theirs = getattr(server.deployment, field), getattr(first, field)
                if mine != theirs:
                    raise FleetRuleError(
                        f"servers[{index}].deployment.{key}",
                        f"{mine!r} differs from servers[0]'s {theirs!r}; every server of a fleet runs in one "
                        "cluster (same cloud, region, zones and zoneNames)",
                    )

    def _unique_pools(self) -> None:
        seen: dict[str, int] = {}
        for index, server in enumerate(self.servers):
            if server.pool in seen:
                raise FleetRuleError(
                    f"servers[{index}].pool",
                    f"{server.pool!r} is already the pool of servers[{seen[server.pool]}]; pool names are unique "
                    "in a stack (they name node groups and Kubernetes objects)",
                )
            seen[server.pool] = index

    def _request_classes(self) -> None:
        counts = Counter(server.workload for server in self.servers)
        for workload in self.workloads():
            indexed = [(i, s) for i, s in enumerate(self.servers) if s.workload == workload]
            mixed = counts[workload] > 1
            for index, server in indexed:
                if mixed and not server.request_classes:
                    raise FleetRuleError(
                        f"servers[{index}].requestClasses",
                        f"missing; workload {workload!r} has {counts[workload]} servers, so each names the request "
                        "classes it serves",
                    )
                if not mixed and server.request_classes is not None:
                    raise FleetRuleError(
                        f"servers[{index}].requestClasses",
                        f"workload {workload!r} has one server, which serves all its requests; remove requestClasses",
                    )
            if not mixed:
                continue
            served_by: dict[str, int] = {}
            total = 0.0
            for index, server in indexed:
                for position, cls in enumerate(server.request_classes or []):
                    if cls.name in served_by:
                        other = served_by[cls.name]
                        where = "this server" if other == index else f"servers[{other}] ({self.servers[other].pool})"
                        raise FleetRuleError(
                            f"servers[{index}].requestClasses[{position}].name",
                            f"{cls.name!r} is already served by {where}; each class of workload {workload!r} is "
                            "served by exactly one pool",
                        )
                    served_by[cls.name] = index
                    total += cls.share
            if abs(total - 1.0) > SHARE_TOLERANCE:
                raise FleetRuleError(
                    f"servers[{indexed[0][0]}].requestClasses",
                    f"the shares of workload {workload!r}'s classes sum to {total:g} over its servers; they must "
                    "sum to 1 (every request belongs to one class)",
                )

    def check_workloads(self, names: Sequence[str]) -> None:
        """Every server names one of `names` and every name has a server; raises FleetRuleError otherwise."""
        known = list(names)
        for index, server in enumerate(self.servers):
            if server.workload not in known:
                raise FleetRuleError(
                    f"servers[{index}].workload",
                    f"{server.workload!r} is not a workload of servestack:workloads; allowed: {', '.join(known)}",
                )
        served = set(self.workloads())
        for name in known:
            if name not in served:
                raise FleetRuleError(
                    "servers", f"workload {name!r} of servestack:workloads has no server; add one naming it"
                )

    @classmethod
    def from_stack_config(cls, value: Any, workloads: Sequence[str]) -> Fleet:
        """Validate a `servestack:fleet` value against the names of the stack's `servestack:workloads`."""
        return cls.model_validate(value, context={"workloads": list(workloads)})

    @classmethod
    def single(cls, workload_name: str, deployment: Deployment) -> Fleet:
        """Today's one-workload stack as a fleet: one server whose pool is named after the workload."""
        return cls(servers=[FleetServer(workload=workload_name, pool=workload_name, deployment=deployment)])

    def to_stack_config(self) -> dict[str, Any]:
        """The `servestack:fleet` value (camelCase, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    def workloads(self) -> list[str]:
        """Workload names in the order their first server appears."""
        return list(dict.fromkeys(server.workload for server in self.servers))

    def servers_of(self, workload: str) -> list[FleetServer]:
        """The servers (pools) of one workload, in stack order."""
        return [server for server in self.servers if server.workload == workload]

    def server(self, pool: str) -> FleetServer:
        """The server of pool `pool`; KeyError naming the pools when there is none."""
        for server in self.servers:
            if server.pool == pool:
                return server
        raise KeyError(f"no pool {pool!r}; pools: {', '.join(s.pool for s in self.servers)}")

    @property
    def is_single(self) -> bool:
        """True for a one-server fleet (the single-workload stack shape)."""
        return len(self.servers) == 1

    @property
    def cloud(self) -> str:
        return self.servers[0].deployment.cloud

    @property
    def region(self) -> str:
        return self.servers[0].deployment.region

    @property
    def zones(self) -> int:
        return self.servers[0].deployment.zones

    @property
    def zone_names(self) -> list[str]:
        return list(self.servers[0].deployment.zone_names)
