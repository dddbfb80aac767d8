"""Policy pack configuration in the Pulumi CLI's format, reconciled the way the CLI does it.

File format (`pulumi preview --policy-pack-config FILE`, and `servestack check --policy-config FILE`):
`{"all": "<level>", "<policy>": "<level>" | {"enforcementLevel": "<level>", "<key>": value, ...}}`.

Reconciliation (pulumi/pulumi `pkg/resource/analyzer/config.go`, `ReconcilePolicyPackConfig`): start from every
policy's default level and its schema defaults, apply the pack's programmatic `initial_config`, then the
file; in each layer `all` sets every policy's level first and named policies override it; the result is
validated against each policy's JSON schema. Every policy is sent with an explicit level, so a pack never
falls back to the protocol's zero value (advisory).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from servestack.errors import SpecError, did_you_mean
from servestack.yamlio import parse_json, read_user_text

__all__ = [
    "unknown_policy_names",
    "ENFORCEMENT_LEVELS",
    "PolicyConfigEntry",
    "load_policy_config",
    "parse_policy_config",
    "reconcile_policy_config",
]

ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_ALLOWED_ACCELERATORS = "allowed-accelerators"


@dataclass(frozen=True)
class PolicyConfigEntry:
    """One policy's configuration: an enforcement level (None = keep the default) and properties."""

    enforcement: str | None = None
    properties: Mapping[str, Any] | None = None


class _PolicyLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def enforcement(self) -> str: ...
    @property
    def config_schema(self) -> dict[str, Any] | None: ...
    @property
    def config_required(self) -> tuple[str, ...]: ...


def _level(source: str, key: str, value: object) -> str:
    if not isinstance(value, str) or value not in ENFORCEMENT_LEVELS:
        raise SpecError(f"{source}: {key}.enforcementLevel", value, f"allowed: {', '.join(ENFORCEMENT_LEVELS)}")
    return value


def parse_policy_config(data: object, source: str = "--policy-config") -> dict[str, PolicyConfigEntry]:
    """Parse the decoded JSON of a policy config file; `SpecError` names the key and the allowed values."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(source, type(data).__name__, 'expected a JSON object like {"all": "mandatory"}')
    result: dict[str, PolicyConfigEntry] = {}
    for key, value in data.items():
        if isinstance(value, str):
            result[key] = PolicyConfigEntry(enforcement=_level(source, key, value))
        elif isinstance(value, dict):
            props = dict(value)
            level = _level(source, key, props.pop("enforcementLevel")) if "enforcementLevel" in props else None
            if key == _ALLOWED_ACCELERATORS:
                _check_accelerator_ids(source, key, props)
            if level is None and not props:
                continue
            result[key] = PolicyConfigEntry(enforcement=level, properties=props or None)
        else:
            raise SpecError(
                f"{source}: {key}", value, "each value is an enforcement level string or an object of settings"
            )
    return result


def load_policy_config(path: Path) -> dict[str, PolicyConfigEntry]:
    """Read a policy config file (JSON, as the Pulumi CLI takes it).

    An empty file is an error, as in the Pulumi CLI: a file given on purpose that says nothing is more likely
    a broken pipeline than an intent; omit `--policy-config` to run with the packs' defaults.
    """
    source = f"--policy-config {path}"
    text = read_user_text(path, "--policy-config")
    if not text.strip():
        raise SpecError(source, "<empty file>", 'a JSON object like {"all": "mandatory"}; '
                        "omit --policy-config to use the packs' defaults")
    data = parse_json(text, path, "--policy-config")
    _reject_non_finite(data, source, "")
    return parse_policy_config(data, source)


def _check_accelerator_ids(source: str, policy: str, props: Mapping[str, Any]) -> None:
    """`allowed-accelerators.accelerators` names catalog accelerators: a typo is an input error, not a violation.

    Otherwise the pack reports the unknown id as a violation on every GPU node group it judges.
    """
    ids = props.get("accelerators")
    if ids is None:
        return
    key = f"{source}: {policy}.accelerators"
    if not isinstance(ids, list) or not all(isinstance(x, str) for x in ids):
        raise SpecError(key, ids, "a list of accelerator ids such as [\"H100\", \"L4\"]")
    from servestack.catalog import load_catalog

    catalog = load_catalog()
    for i, name in enumerate(ids):
        catalog.resolve_accelerator(name, field=f"{key}[{i}]")


def _reject_non_finite(value: object, source: str, where: str) -> None:
    """Python's json reads NaN and Infinity, which JSON does not allow and protobuf cannot carry to a pack."""
    if isinstance(value, float) and not math.isfinite(value):
        raise SpecError(f"{source}: {where or '(document)'}", value, "a finite JSON number")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(item, source, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _reject_non_finite(item, source, f"{where}[{i}]")


def _apply(result: dict[str, PolicyConfigEntry], layer: Mapping[str, PolicyConfigEntry]) -> None:
    everything = layer.get("all")
    if everything is not None and everything.enforcement is not None:
        for name, entry in list(result.items()):
            result[name] = PolicyConfigEntry(everything.enforcement, entry.properties)
    for name, given in layer.items():
        if name == "all":
            continue
        current = result.get(name, PolicyConfigEntry())
        level = given.enforcement if given.enforcement is not None else current.enforcement
        props = dict(current.properties or {})
        props.update(given.properties or {})
        result[name] = PolicyConfigEntry(level, props or None)


def _validate(pack: str, policy: _PolicyLike, props: Mapping[str, Any]) -> None:
    if policy.config_schema is None:
        return
    try:
        import jsonschema  # type: ignore[import-untyped]
    except ImportError:  # validation is a courtesy; the pack still checks what it reads
        return
    schema: dict[str, Any] = {"type": "object", "properties": policy.config_schema}
    if policy.config_required:
        schema["required"] = list(policy.config_required)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(dict(props)), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = ".".join(str(p) for p in err.path)
        field = f"{policy.name}.{where}" if where else policy.name
        value = err.instance if where else dict(props)
        raise SpecError(f"policy config for pack {pack!r}: {field}", value, err.message)


def _reject_unknown_keys(pack: str, policy: _PolicyLike, props: Mapping[str, Any]) -> None:
    # The Pulumi CLI ignores a key the policy's schema does not declare, so a misspelt setting
    # (`monthlyBudgetUSD`) would silently leave the default in force.
    known = sorted(set(policy.config_schema or {}) - {"enforcementLevel"})
    for key in props:
        if key not in known:
            allowed = (
                f"allowed: enforcementLevel, {', '.join(known)}" if known else "this policy takes only enforcementLevel"
            )
            raise SpecError(
                f"policy config for pack {pack!r}: {policy.name}.{key}", props[key],
                f"unknown setting{did_you_mean(key, known)}; {allowed}",
            )


def reconcile_policy_config(
    pack: str,
    policies: Iterable[_PolicyLike],
    initial_config: Mapping[str, PolicyConfigEntry],
    config: Mapping[str, PolicyConfigEntry],
) -> dict[str, PolicyConfigEntry]:
    """Every policy of the pack with its effective level and properties (defaults, then initial, then file)."""
    policies = list(policies)
    result: dict[str, PolicyConfigEntry] = {}
    for p in policies:
        schema = p.config_schema or {}
        defaults = {k: v["default"] for k, v in schema.items() if isinstance(v, dict) and "default" in v}
        result[p.name] = PolicyConfigEntry(p.enforcement, defaults or None)
    names = {p.name for p in policies}
    for p in policies:
        given = config.get(p.name)
        if given is not None and given.properties:
            _reject_unknown_keys(pack, p, given.properties)
    for layer in (initial_config, config):
        # One file may configure several packs: each pack takes `all` and its own policies.
        _apply(result, {k: v for k, v in layer.items() if k == "all" or k in names})
    for p in policies:
        _validate(pack, p, result[p.name].properties or {})
    return result


def unknown_policy_names(config: Mapping[str, PolicyConfigEntry], known: Iterable[str]) -> list[tuple[str, str]]:
    """(key, did-you-mean hint) for each config key that names no policy of any pack."""
    names = sorted(set(known))
    return [(k, did_you_mean(k, names)) for k in config if k != "all" and k not in names]
