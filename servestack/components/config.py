"""The `servestack:*` stack configuration the Pulumi program reads, validated with pydantic.

Pure data: no Pulumi provider import, so the CLI and tests can validate a stack file cheaply.
`from_mapping` takes the keys without their `servestack:` prefix (the shape of `Pulumi.<env>.yaml`'s
`config:` block after the namespace is stripped); `from_pulumi_config` reads the running stack.
Every problem becomes a `ConfigError` naming the key (e.g. `servestack:deployment.nodesPeak`, or
`servestack:fleet.servers[1].deployment.nodesPeak`), the value and what is allowed.

A stack is a fleet (servestack.contract.fleet): either the single-workload keys `servestack:workload` +
`servestack:deployment` (one server) or the multi keys `servestack:workloads` + `servestack:fleet`.
`DeploymentConfig.fleet` is the fleet whichever shape was written; `for_server` gives the per-server view
(`workload`, `deployment`, `cost_tags` of that server) that per-workload readers such as monitoring take.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from servestack.contract import DEFAULT_KUBERNETES_VERSION, ApiAccess, Deployment
from servestack.contract.fleet import Fleet, FleetRuleError, FleetServer
from servestack.errors import ConfigError, did_you_mean
from servestack.versions import SUPPORTED_KUBERNETES_VERSIONS

__all__ = [
    "NAMESPACE",
    "DEFAULT_IMAGE",
    "DeploymentConfig",
    "DeploymentPlan",
    "WorkloadConfig",
    "ModelConfig",
    "CostTags",
]

NAMESPACE = "servestack"
DEFAULT_IMAGE = "vllm/vllm-openai:v0.11.0"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# A value valid as a Kubernetes label, a GCP label and an AWS tag at once.
_LABEL_VALUE = re.compile(r"^[a-z0-9]([-_a-z0-9]{0,61}[a-z0-9])?$")
_IMAGE_TAG = re.compile(r"^[^\s:@]+(:[0-9A-Za-z_.-]+)?(@sha256:[0-9a-f]{64})?$")

Pricing = Literal["on_demand", "spot", "1y", "3y"]


class _Camel(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, allow_inf_nan=False
    )


class ModelConfig(_Camel):
    """`servestack:workload.model`: which model, at what precision and context length."""

    id: str | None = None
    architecture: dict[str, Any] | None = None
    measured: dict[str, Any] | None = None
    """Measured figures of a model the analytic model cannot describe."""
    precision: Literal["fp16", "bf16", "fp8", "int8", "int4"] = "bf16"
    max_context_tokens: int = Field(gt=0)
    weights_gib: float | None = Field(default=None, gt=0)


class CostTags(BaseModel):
    """`servestack:tags`: cost-allocation tags from the spec's optional `owner` block."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    team: str = Field(pattern=_LABEL_VALUE.pattern)
    cost_center: str = Field(alias="cost-center", pattern=_LABEL_VALUE.pattern)


class WorkloadConfig(_Camel):
    """`servestack:workload`: the spec's model/traffic/slo block (traffic and slo are informational here)."""

    name: str
    model: ModelConfig
    traffic: dict[str, float] = Field(default_factory=dict)
    slo: dict[str, float | None] = Field(default_factory=dict)
    tags: CostTags | None = None
    """The workload's owner (team, cost-center) when it differs from the stack's `servestack:tags`: several
    workloads of one cluster each carry their own owner on their own resources (showback)."""

    @field_validator("name")
    @classmethod
    def _dns(cls, value: str) -> str:
        if not _DNS_LABEL.match(value):
            raise ValueError("must be a DNS-1123 label: lower-case letters, digits and '-', 1-63 characters")
        return value


DeploymentPlan = Deployment
"""`servestack:deployment` is the deployment contract itself (servestack.contract.Deployment)."""


class DeploymentConfig(BaseModel):
    """Everything the program reads from `servestack:*` config, validated.

    `workload` and `deployment` are the first server's (the only one's in a single-workload stack); readers of a
    whole stack iterate `fleet.servers` and take `for_server(server)` for each.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    environment: Literal["dev", "staging", "prod"]
    budget_monthly_usd: float | None = Field(default=None, gt=0)
    workload: WorkloadConfig
    deployment: Deployment
    fleet_workloads: list[WorkloadConfig] | None = None
    """`servestack:workloads` of a multi-workload stack (None for the single-workload keys)."""
    fleet_servers: Fleet | None = None
    """`servestack:fleet` of a multi-workload stack (None for the single-workload keys)."""
    tags: CostTags | None = None
    api_access: ApiAccess | None = None
    """Required before anything is created; optional here so its absence is reported with the key's name."""
    hf_token_secret: str | None = Field(default=None, min_length=1, max_length=512, pattern=r"^[A-Za-z0-9/_+=.@-]+$")
    """Name of the secret (AWS Secrets Manager / GCP Secret Manager) holding the Hugging Face token."""
    cluster_admins: list[str] = Field(default_factory=list, max_length=20)
    """Principals (AWS IAM ARNs, GCP IAM members) given cluster-admin access, e.g. the CI role running `pulumi up`."""
    commitment_purchased: bool = False
    """True once the plan's 1y/3y commitment is bought; until then the budget pack prices the floor on demand."""
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    """Cluster minor version; one of the versions the add-on table (servestack.versions) pins add-ons for."""
    docker_hub_credential_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[-a-z]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:ecr-pullthroughcache/.+$"
    )
    """AWS: Secrets Manager secret (named ecr-pullthroughcache/...) with Docker Hub credentials; with it the vLLM
    image is pulled through the stack's ECR pull-through cache instead of anonymously from Docker Hub."""
    existing_cluster_name: str | None = Field(default=None, min_length=1)
    exposure: Literal["internal", "public"] = "internal"
    tls_certificate_arn: str | None = Field(default=None, pattern=r"^arn:aws[-a-z]*:acm:")
    tls_domain: str | None = Field(default=None, pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")
    image: str = DEFAULT_IMAGE
    gcp_project: str | None = None

    @field_validator("kubernetes_version")
    @classmethod
    def _supported_version(cls, value: str) -> str:
        if value not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(
                f"allowed: {', '.join(SUPPORTED_KUBERNETES_VERSIONS)} (the versions servestack pins add-ons for)"
            )
        return value

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return check_image(value)

    @model_validator(mode="after")
    def _cross(self) -> DeploymentConfig:
        cloud = self.fleet.cloud
        if self.exposure == "public" and cloud == "aws" and not self.tls_certificate_arn:
            raise _KeyError("tlsCertificateArn", None, "an ACM certificate ARN is required when exposure is public")
        if self.exposure == "public" and cloud == "gcp" and not self.tls_domain:
            raise _KeyError(
                "tlsDomain", None, "a DNS name for the managed certificate is required when exposure is public"
            )
        if cloud == "gcp" and not self.gcp_project:
            raise _KeyError("gcp:project", None, "set the GCP project (pulumi config set gcp:project <id>)")
        if self.api_access is None:
            raise _KeyError(
                "apiAccess",
                None,
                "choose how `pulumi up` reaches the cluster API before anything is created: "
                "`servestack plan SPEC --write --api-cidr CIDR` (public endpoint limited to your networks) or "
                "`--api-private` (private endpoint; run `pulumi up` from inside the VPC, see docs/deploy.md); "
                "in a project `servestack new` generated, `servestack new DIR --update` with the same flag",
            )
        gated = next((s.deployment.serving for s in self.fleet.servers if s.deployment.serving.gated), None)
        if gated is not None and not self.hf_token_secret:
            raise _KeyError(
                "hfTokenSecret",
                None,
                f"{gated.checkpoint} is gated: create a secret holding a Hugging Face token in "
                f"the cloud's secret manager and name it with `servestack plan SPEC --write --hf-token-secret NAME` "
                "(in a project `servestack new` generated: `servestack new DIR --update --hf-token-secret NAME`)",
            )
        return self

    @property
    def fleet(self) -> Fleet:
        """The servers of this stack, whichever keys wrote it (`Fleet.single` for the single-workload keys)."""
        if self.fleet_servers is not None:
            return self.fleet_servers
        return Fleet.single(self.workload.name, self.deployment)

    @property
    def workloads(self) -> list[WorkloadConfig]:
        """Every workload block of the stack, in `servestack:workloads` order."""
        return list(self.fleet_workloads) if self.fleet_workloads is not None else [self.workload]

    def workload_named(self, name: str) -> WorkloadConfig:
        """The workload block called `name` (the fleet's validation guarantees every server's exists)."""
        return next(w for w in self.workloads if w.name == name)

    def for_server(self, server: FleetServer) -> DeploymentConfig:
        """This config seen from one server: its workload, its deployment and its cost tags."""
        workload = self.workload_named(server.workload)
        return self.model_copy(update={"workload": workload, "deployment": server.deployment})

    @property
    def cost_tags(self) -> dict[str, str]:
        """The tags/labels every taggable resource of this (per-server view of the) stack carries.

        Without an `owner` block in the spec, tags come from what the stack knows: the workload and environment
        (team and cost-center are added only when the spec names them).
        """
        tags = {"workload": self.workload.name, "environment": self.environment, "managed-by": "servestack"}
        owner = self.workload.tags or self.tags
        if owner is not None:
            tags = {"team": owner.team, **tags, "cost-center": owner.cost_center}
        return tags

    @property
    def cluster_tags(self) -> dict[str, str]:
        """Tags of what the servers share (network, cluster, system nodes, registry).

        A single-workload stack's cluster belongs to its workload (today's tags). Shared by several workloads, it
        carries no `workload` tag: cost reports show it as the shared bucket that showback splits
        (docs/costing.md).
        """
        if self.fleet_servers is None:
            return self.cost_tags
        tags = {"environment": self.environment, "managed-by": "servestack"}
        if self.tags is not None:
            tags = {"team": self.tags.team, **tags, "cost-center": self.tags.cost_center}
        return tags

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeploymentConfig:
        """Validate config keys given without the `servestack:` prefix (values parsed, not JSON strings).

        `gcp:project` may be passed as `gcp:project` (provider key) and is folded in.
        """
        own = {k: v for k, v in values.items() if ":" not in k}
        # Every problem at once, a misspelt key (with its did-you-mean) first: it often explains a missing one.
        problems = sorted(
            (f"{NAMESPACE}:{key}: unknown key{did_you_mean(key, _KEYS)}; servestack reads: " + ", ".join(sorted(_KEYS))
             for key in own if key not in _KEYS),
            key=lambda problem: "(did you mean" not in problem,
        )
        data: dict[str, Any] = {_KEYS[k]: v for k, v in own.items() if k in _KEYS}
        if "gcp:project" in values and "gcp_project" not in data:
            data["gcp_project"] = values["gcp:project"]
        problems += _shape_problems(data)
        if problems:
            raise ConfigError("\n  ".join(problems))
        if "fleet_servers" in data:
            data.update(_validated_fleet(data.pop("fleet_workloads"), data.pop("fleet_servers")))
        try:
            return cls.model_validate(data)
        except _KeyError as exc:
            raise exc.as_config_error() from None
        except ValidationError as exc:
            raise _config_error(exc) from None

    @classmethod
    def from_pulumi_config(cls) -> DeploymentConfig:
        """Read and validate the running stack's `servestack:*` config (and `gcp:project`)."""
        import pulumi
        from pulumi.runtime import config as runtime_config

        # pulumi.Config only answers for keys it is asked about; list what the stack file holds so a
        # misspelt key (servestack:exposre) is an error rather than a silently ignored setting.
        present = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
        cfg = pulumi.Config(NAMESPACE)
        values: dict[str, Any] = {}
        for full in sorted(present):
            namespace, _, key = full.partition(":")
            if namespace == NAMESPACE and key not in _KEYS and key not in _OTHER_KEYS:
                values[key] = cfg.get(key)  # from_mapping reports it, together with every other problem
        for key in _KEYS:
            raw = cfg.get(key)
            if raw is None:
                continue
            values[key] = _parse_value(key, raw) if key in _OBJECT_KEYS or key in _NUMBER_KEYS else raw
        project = pulumi.Config("gcp").get("project")
        if project:
            values["gcp:project"] = project
        return cls.from_mapping(values)


def check_image(value: str) -> str:
    """An image reference pinned to a version tag or digest; `latest` and untagged images are refused."""
    ref = value.strip()
    last = ref.rsplit("/", 1)[-1]
    if not _IMAGE_TAG.match(last) or (":" not in last and "@" not in last):
        raise ValueError(f"image {value!r} needs an explicit version tag or digest, e.g. {DEFAULT_IMAGE}")
    if ":" in last and last.split(":", 1)[1].split("@")[0] == "latest":
        raise ValueError(f"image {value!r} uses the mutable 'latest' tag; pin a version, e.g. {DEFAULT_IMAGE}")
    return ref


def _shape_problems(data: Mapping[str, Any]) -> list[str]:
    """Missing keys, and a stack that mixes the single-workload and the multi-workload keys."""
    how = "run `servestack plan SPEC --env <env> --write` or set it in stacks/Pulumi.<env>.yaml"
    problems = [] if "environment" in data else [f"{NAMESPACE}:environment: missing; {how}"]
    single = [key for key in ("workload", "deployment") if key in data]
    multi = [_FIELDS_TO_KEYS[f] for f in ("fleet_workloads", "fleet_servers") if f in data]
    if single and multi:
        problems.append(
            f"{NAMESPACE}:{multi[0]}: cannot be combined with {NAMESPACE}:{single[0]}; a stack is written either "
            f"with {NAMESPACE}:workload + {NAMESPACE}:deployment (one workload) or with {NAMESPACE}:workloads + "
            f"{NAMESPACE}:fleet (several servers in one cluster)"
        )
    elif multi:
        problems += [f"{NAMESPACE}:{key}: missing; {NAMESPACE}:workloads goes with {NAMESPACE}:fleet"
                     for key in ("workloads", "fleet") if key not in multi]
    else:
        problems += [f"{NAMESPACE}:{key}: missing; {how}" for key in ("workload", "deployment") if key not in single]
    return problems


class _FleetKeys(BaseModel):
    """`servestack:workloads` + `servestack:fleet`, validated together (the fleet names the workloads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fleet_workloads: list[WorkloadConfig] = Field(min_length=1)
    fleet_servers: Fleet

    @field_validator("fleet_workloads")
    @classmethod
    def _unique(cls, values: list[WorkloadConfig]) -> list[WorkloadConfig]:
        seen: set[str] = set()
        for index, workload in enumerate(values):
            if workload.name in seen:
                raise _KeyError(f"workloads[{index}].name", workload.name, "workload names are unique in a stack")
            seen.add(workload.name)
        return values


def _validated_fleet(workloads: Any, fleet: Any) -> dict[str, Any]:
    """The multi-workload keys as DeploymentConfig fields; the first server also fills `workload`/`deployment`."""
    try:
        keys = _FleetKeys.model_validate({"fleet_workloads": workloads, "fleet_servers": fleet})
        keys.fleet_servers.check_workloads([w.name for w in keys.fleet_workloads])
    except FleetRuleError as exc:
        raise _fleet_error(exc) from None
    except ValidationError as exc:
        raise _config_error(exc) from None
    first = keys.fleet_servers.servers[0]
    return {
        "fleet_workloads": keys.fleet_workloads,
        "fleet_servers": keys.fleet_servers,
        "workload": next(w for w in keys.fleet_workloads if w.name == first.workload),
        "deployment": first.deployment,
    }


def _fleet_error(exc: FleetRuleError) -> ConfigError:
    return ConfigError(f"{NAMESPACE}:fleet.{exc.path}: {exc.message}")


# stack-config key -> DeploymentConfig field
_KEYS: dict[str, str] = {
    "environment": "environment",
    "budgetMonthlyUsd": "budget_monthly_usd",
    "workload": "workload",
    "deployment": "deployment",
    "workloads": "fleet_workloads",
    "fleet": "fleet_servers",
    "tags": "tags",
    "existingClusterName": "existing_cluster_name",
    "exposure": "exposure",
    "tlsCertificateArn": "tls_certificate_arn",
    "tlsDomain": "tls_domain",
    "image": "image",
    "apiAccess": "api_access",
    "hfTokenSecret": "hf_token_secret",
    "clusterAdmins": "cluster_admins",
    "commitmentPurchased": "commitment_purchased",
    "kubernetesVersion": "kubernetes_version",
    "dockerHubCredentialArn": "docker_hub_credential_arn",
}
# Keys read elsewhere: plan --write's record of what it wrote.
_OTHER_KEYS = ("generated",)
_FIELDS_TO_KEYS = {v: k for k, v in _KEYS.items()} | {"gcp_project": "gcp:project"}
_OBJECT_KEYS = {"workload", "deployment", "workloads", "fleet", "tags", "apiAccess", "clusterAdmins"}
_NUMBER_KEYS = {"budgetMonthlyUsd", "commitmentPurchased"}


def _parse_value(key: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{NAMESPACE}:{key}: {raw[:60]!r} is not valid ({exc.msg}); expected a YAML object or number"
        ) from None


class _KeyError(ValueError):
    """A cross-field problem that belongs to one stack-config key."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(allowed)

    def as_config_error(self) -> ConfigError:
        full = self.key if ":" in self.key else f"{NAMESPACE}:{self.key}"
        shown = "<missing>" if self.value is None else repr(self.value)
        return ConfigError(f"{full}: {shown} is not valid; {self.allowed}")


def _config_error(exc: ValidationError) -> ConfigError:
    """One error listing every validation problem, unknown keys (the likely typos) first."""
    errors = sorted(exc.errors(include_url=False), key=lambda err: err["type"] != "extra_forbidden")
    return ConfigError("\n  ".join(str(_one_config_error(err)) for err in errors))


def _one_config_error(err: Any) -> ConfigError:
    ctx = err.get("ctx") or {}
    inner = ctx.get("error")
    if isinstance(inner, _KeyError):
        return inner.as_config_error()
    if isinstance(inner, FleetRuleError):
        return _fleet_error(inner)
    loc = [str(x) for x in err["loc"]]
    field = loc[0] if loc else ""
    head = _FIELDS_TO_KEYS.get(field, field)
    head = head if ":" in head else f"{NAMESPACE}:{head}"
    path = head
    for part in err["loc"][1:]:
        # List positions are written as indexes (`servers[1]`) so the path reads like the YAML it points into.
        path += f"[{part}]" if isinstance(part, int) else f".{_camel(str(part))}"
    msg = str(err["msg"]).removeprefix("Value error, ").replace("Input should be", "allowed:")
    if err["type"] == "missing":
        return ConfigError(f"{path}: missing; this key is required")
    if err["type"] == "extra_forbidden":
        known = _keys_of(err["loc"][:-1])
        unknown = str(err["loc"][-1])
        hint = did_you_mean(unknown, known) if known else ""
        allowed = f"; allowed: {', '.join(known)}" if known else ""
        return ConfigError(f"{path}: unknown key{hint}{allowed}")
    value = err.get("input")
    if isinstance(value, (dict, list)):
        return ConfigError(f"{path}: {msg}")
    return ConfigError(f"{path}: {value!r} is not valid; {msg}")


def _keys_of(loc: tuple[int | str, ...]) -> list[str]:
    """The stack-config spelling of every key the model at `loc` (inside DeploymentConfig) accepts."""
    model: Any = DeploymentConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = next(
            (f for name, f in model.model_fields.items() if part in (name, f.alias)), None
        )
        # `CostTags | None`, `list[FleetServer]` and the like: the model inside the annotation.
        found = _model_in(field.annotation) if field is not None else None
        if found is None:
            return []
        model = found
    return sorted(f.alias or name for name, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for m in map(_model_in, get_args(annotation)) if m is not None), None)


def _camel(part: str) -> str:
    return part if part == "cost-center" or not part.replace("_", "").isalnum() else to_camel(part)
