"""The stack config `plan --write` records: which keys servestack owns, and writing them without losing edits.

`owned_stack_config` is a pure function of (spec, chosen candidate, environment kind). `write_stack_config`
merges those keys into `<stackConfigDir>/Pulumi.<env>.yaml` with a round-trip YAML parser, so comments,
key order and every key a person added stay as they were.

Edit detection: `servestack:generated` maps each owned key to a short hash of the value servestack last
wrote. A present value whose hash differs from that record (or that has no record at all) was written by
a person; replacing it with a different value needs `force`. Refusal raises `EditedConfigError` (exit 1:
the input is valid, the write is refused to protect a person's edit).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from servestack.contract import ApiAccess, Deployment
from servestack.errors import ConfigError, InputFileError, ServestackError, SpecError, WriteRefusedError
from servestack.workload import WorkloadSpec
from servestack.yamlio import load_yaml_file, parse_yaml, read_user_text, write_text_atomically

if TYPE_CHECKING:
    from servestack.contract.fleet import Fleet

__all__ = [
    "owned_stack_config",
    "fleet_keys",
    "StackChoices",
    "write_stack_config",
    "WriteResult",
    "EditedConfigError",
    "GENERATED_KEY",
    "GPU_MEMORY_UTILIZATION",
    "stack_file_path",
    "current_value",
]

GENERATED_KEY = "servestack:generated"
GPU_MEMORY_UTILIZATION = 0.90
"""vLLM's default `--gpu-memory-utilization`; the sizing model budgets KV cache with the same fraction."""

_DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_KINDS = ("dev", "staging", "prod")
_HEADER = (
    "Stack config of this Pulumi project. `servestack plan --write` owns the servestack:environment,\n"
    "budgetMonthlyUsd, workload, deployment, tags, apiAccess, hfTokenSecret, clusterAdmins and\n"
    "commitmentPurchased keys and the provider region; servestack:generated records what it last wrote so\n"
    "a value you edit is never replaced without --force. Add any other key."
)


class EditedConfigError(ServestackError):
    """`plan --write` would replace values a person edited (exit 1); `keys` lists them."""

    exit_code = 1

    def __init__(self, path: Path, keys: list[str]) -> None:
        self.path = path
        self.keys = keys
        super().__init__(
            f"{path}: {', '.join(keys)} {'was' if len(keys) == 1 else 'were'} edited by hand and would be replaced; "
            "keep the edit (and skip --write), or pass --force to replace "
            f"{'it' if len(keys) == 1 else 'them'}"
        )


@dataclass
class WriteResult:
    """What a write did, key by key (fully qualified config keys)."""

    path: Path
    created: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)
    """Keys a person had edited that `force` replaced (also listed in `changed`)."""
    kept: list[str] = field(default_factory=list)
    """Keys servestack no longer writes but a person edited, so they stay."""

    @property
    def changed_anything(self) -> bool:
        return bool(self.created or self.added or self.changed or self.removed)

    def summary(self) -> str:
        """A few lines for people: what the write did to the stack file."""
        verb = "created" if self.created else ("updated" if self.changed_anything else "unchanged")
        lines = [f"{self.path}: {verb}"]
        for label, keys in (("added", self.added), ("changed", self.changed), ("removed", self.removed),
                            ("replaced edits (--force)", self.forced), ("kept (edited by hand)", self.kept),
                            ("unchanged", self.unchanged)):
            if keys:
                lines.append(f"  {label}: {', '.join(keys)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "created": self.created, "added": self.added, "changed": self.changed,
                "unchanged": self.unchanged, "removed": self.removed, "forced": self.forced, "kept": self.kept}


# ---- the owned keys -----------------------------------------------------------------------------------------

def _num(value: float) -> float | int:
    """Whole numbers as ints, so the YAML reads `12`, not `12.0`."""
    return int(value) if float(value).is_integer() else float(value)


def _workload(spec: WorkloadSpec, weights_gib: float | None) -> dict[str, Any]:
    m = spec.model
    model: dict[str, Any] = {}
    if m.id is not None:
        model["id"] = m.id
    elif m.architecture is not None:
        a = m.architecture
        arch: dict[str, Any] = {
            "paramsB": _num(a.params_b), "layers": a.layers, "hiddenSize": a.hidden_size,
            "attentionHeads": a.attention_heads, "kvHeads": a.kv_heads, "vocabSize": a.vocab_size,
        }
        if a.head_dim is not None:
            arch["headDim"] = a.head_dim
        if a.experts > 1:
            arch.update({"experts": a.experts, "activeExperts": a.active_experts})
            if a.active_params_b is not None:
                arch["activeParamsB"] = _num(a.active_params_b)
        model["architecture"] = arch
    elif m.measured is not None:
        model["measured"] = {"memoryGib": _num(m.measured.memory_gib)}
    model["precision"] = m.precision
    model["maxContextTokens"] = m.context_tokens
    if weights_gib is not None:
        model["weightsGib"] = _num(round(weights_gib, 2))
    t = spec.traffic
    traffic = {
        "peakRequestsPerS": _num(t.peak_requests_per_s),
        "avgRequestsPerS": _num(t.avg_requests_per_s),
        "avgInputTokens": t.avg_input_tokens,
        "avgOutputTokens": t.avg_output_tokens,
    }
    slo: dict[str, Any] = {}
    for src, dst in (("ttft_ms_p95", "ttftMsP95"), ("tpot_ms_p95", "tpotMsP95"), ("latency_ms_p95", "latencyMsP95")):
        value = getattr(spec.slo, src)
        if value is not None:
            slo[dst] = _num(value)
    return {"name": spec.name, "model": model, "traffic": traffic, "slo": slo}


@dataclass(frozen=True)
class StackChoices:
    """What the spec cannot decide and `plan --write` records from its flags (see `servestack plan --help`)."""

    api_access: ApiAccess | None = None
    """--api-cidr CIDR (repeatable) or --api-private; None leaves the choice open (the program then stops)."""
    hf_token_secret: str | None = None
    cluster_admins: tuple[str, ...] = ()
    commitment_purchased: bool = False
    gcp_project: str | None = None


def owned_stack_config(
    spec: WorkloadSpec, deployment: Deployment, kind: str, choices: StackChoices | None = None
) -> dict[str, Any]:
    """The config keys servestack owns for one stack, fully qualified, in the order they are written.

    `deployment` is the contract of the chosen candidate (`Candidate.deployment`); nothing here derives a
    deployment field. Keys for choices not made are not written, so a value a person set by hand stays.
    """
    if kind not in _KINDS:
        raise SpecError("--kind", kind, f"allowed: {', '.join(_KINDS)}")
    choices = choices or StackChoices()
    owned: dict[str, Any] = {"servestack:environment": kind}
    if spec.budget.monthly_usd is not None:
        owned["servestack:budgetMonthlyUsd"] = _num(spec.budget.monthly_usd)
    owned["servestack:workload"] = _workload(spec, deployment.serving.weights_gib)
    owned["servestack:deployment"] = deployment.to_stack_config()
    if spec.owner is not None:
        owned["servestack:tags"] = {"team": spec.owner.team, "cost-center": spec.owner.cost_center}
    if choices.api_access is not None:
        owned["servestack:apiAccess"] = choices.api_access.model_dump(by_alias=True, mode="json")
    if choices.hf_token_secret is not None:
        owned["servestack:hfTokenSecret"] = choices.hf_token_secret
    if choices.cluster_admins:
        owned["servestack:clusterAdmins"] = list(choices.cluster_admins)
    if deployment.commitment is not None:
        owned["servestack:commitmentPurchased"] = choices.commitment_purchased
    if deployment.cloud == "aws":
        owned["aws:region"] = deployment.region
    else:
        owned["gcp:region"] = deployment.region
        if choices.gcp_project:
            owned["gcp:project"] = choices.gcp_project
    return owned


def fleet_keys(owned: Mapping[str, Any], fleet: Fleet) -> dict[str, Any]:
    """A mixed fleet's stack keys: `owned` (the keys `owned_stack_config` writes for the fleet's first server)
    with the fleet contract's multi-server pair in place of the single-workload pair, in the same place
    (servestack:workloads holds the one workload, servestack:fleet its pools). `plan --write` and
    `servestack new` both write a mixed plan through this function, so their stacks cannot differ."""
    out: dict[str, Any] = {}
    for key, value in owned.items():
        if key == "servestack:workload":
            out["servestack:workloads"] = [value]
        elif key == "servestack:deployment":
            out["servestack:fleet"] = fleet.to_stack_config()
        else:
            out[key] = value
    return out


# ---- writing --------------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """ruamel's round-trip types as plain Python, for comparison and hashing."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return _num(float(value))
    if isinstance(value, str):
        return str(value)
    return value


def _hash(value: Any) -> str:
    canonical = json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _to_yaml_node(value: Any) -> Any:
    if isinstance(value, Mapping):
        node = CommentedMap()
        for k, v in value.items():
            node[k] = _to_yaml_node(v)
        return node
    if isinstance(value, (list, tuple)):
        return CommentedSeq([_to_yaml_node(v) for v in value])
    return value


def _merge_into(node: Any, value: Any) -> Any:
    """`value` written over `node`, updating nested maps in place so comments on untouched lines survive."""
    if isinstance(node, CommentedMap) and isinstance(value, Mapping):
        for key in [k for k in node if k not in value]:
            del node[key]
        for key, v in value.items():
            node[key] = _merge_into(node[key], v) if key in node else _to_yaml_node(v)
        return node
    return _to_yaml_node(value)


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def stack_file_path(project_dir: Path, env: str) -> Path:
    """Where Pulumi reads stack `env`'s config: `<stackConfigDir>/Pulumi.<env>.yaml` of the project."""
    if not _DNS_1123_LABEL.match(env):
        raise SpecError("--env", env, "a stack name is a DNS-1123 label: lower-case letters, digits and '-', 1-63")
    directory = Path(project_dir).resolve()
    project_file = directory / "Pulumi.yaml"
    if not project_file.is_file():
        raise ConfigError(
            f"{directory}: no Pulumi.yaml here; `plan --write` writes the stack config of the Pulumi project in "
            "the current directory (or -C DIR); run it from the project (servestack's own has one)"
        )
    data = load_yaml_file(project_file, "project file") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{project_file}: expected a YAML mapping")
    config_dir = data.get("stackConfigDir") or "."
    path = (directory / str(config_dir) / f"Pulumi.{env}.yaml").resolve()
    if path.parent.exists() and not path.parent.is_dir():
        raise ConfigError(f"{project_file}: stackConfigDir {config_dir!r} is a file, not a directory; move it away")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{path}: is a directory, not a stack file; move it away")
    return path


def current_value(project_dir: Path, env: str, key: str) -> Any:
    """The value `key` has in the stack file of `env` now, or None (no file, no such key, or unreadable).

    For values the spec does not decide (the GCP project): a re-plan without the flag keeps what is there
    rather than dropping it. An unreadable file is left for `write_stack_config` to report.
    """
    path = stack_file_path(project_dir, env)
    if not path.is_file():
        return None
    try:
        doc = load_yaml_file(path, "stack file")
    except InputFileError:
        return None
    config = doc.get("config") if isinstance(doc, dict) else None
    return config.get(key) if isinstance(config, dict) else None


def write_stack_config(project_dir: Path, env: str, owned: Mapping[str, Any], force: bool = False) -> WriteResult:
    """Merge `owned` (from `owned_stack_config`) into the stack file of `env`; see the module doc for the rules.

    Raises `SpecError` for a bad stack name, `ConfigError` without a Pulumi.yaml or with an unreadable
    stack file, and `EditedConfigError` when a hand-edited value would change and `force` is False.
    Nothing is written when it raises.
    """
    path = stack_file_path(project_dir, env)
    y = _yaml()
    result = WriteResult(path=path)
    if path.is_file():
        text = read_user_text(path, "stack file")
        parse_yaml(text, path, "stack file")  # refuses what the round-trip parser would choke or hang on
        try:
            doc = y.load(text)
        except YAMLError as exc:
            raise ConfigError(f"{path}: cannot be parsed as YAML ({exc.__class__.__name__}); fix it first") from None
        if doc is None:
            doc = CommentedMap()
        if not isinstance(doc, CommentedMap):
            raise ConfigError(f"{path}: expected a YAML mapping with a 'config' key")
    else:
        doc = CommentedMap()
        doc.yaml_set_start_comment(_HEADER)
        result.created = True
    config = doc.get("config")
    if config is None:
        config = CommentedMap()
        doc["config"] = config
    if not isinstance(config, CommentedMap):
        raise ConfigError(f"{path}: 'config' must be a mapping of key to value")

    recorded_node = config.get(GENERATED_KEY)
    recorded: dict[str, str] = (
        {str(k): str(v) for k, v in recorded_node.items()} if isinstance(recorded_node, Mapping) else {}
    )

    def edited(key: str) -> bool:
        return recorded.get(key) != _hash(config[key])

    conflicts: list[str] = []
    plan: list[tuple[str, str]] = []  # (key, action)
    for key, value in owned.items():
        if key == GENERATED_KEY:
            raise ValueError(f"{GENERATED_KEY} is servestack's own record, not an owned value")
        if key not in config:
            plan.append((key, "add"))
        elif _hash(config[key]) == _hash(value):
            plan.append((key, "same"))
        elif edited(key):
            conflicts.append(key)
            plan.append((key, "force"))
        else:
            plan.append((key, "change"))
    stale = [k for k in recorded if k not in owned]
    for key in stale:
        if key not in config:
            plan.append((key, "forget"))
        elif edited(key):
            plan.append((key, "keep"))
        else:
            plan.append((key, "remove"))
    if conflicts and not force:
        raise EditedConfigError(path, conflicts)

    new_record: dict[str, str] = {}
    for key, action in plan:
        if action in ("add", "change", "force", "same"):
            value = owned[key]
            if action != "same":
                if key in config:
                    config[key] = _merge_into(config[key], value)
                else:
                    config[key] = _to_yaml_node(value)
            new_record[key] = _hash(value)
            {"add": result.added, "change": result.changed, "force": result.changed, "same": result.unchanged}[
                action
            ].append(key)
            if action == "force":
                result.forced.append(key)
        elif action == "remove":
            del config[key]
            result.removed.append(key)
        elif action == "keep":
            result.kept.append(key)

    record_node = CommentedMap()
    for key in sorted(new_record):
        record_node[key] = new_record[key]
    if recorded != new_record or GENERATED_KEY not in config:
        if GENERATED_KEY in config:
            config[GENERATED_KEY] = _merge_into(config[GENERATED_KEY], record_node)
        else:
            config[GENERATED_KEY] = record_node

    if result.changed_anything or recorded != new_record:
        buffer = io.StringIO()
        y.dump(doc, buffer)
        try:
            write_text_atomically(path, buffer.getvalue())
        except OSError as exc:
            raise WriteRefusedError(path, exc) from None
    return result
