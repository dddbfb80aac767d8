"""Reading a Pulumi Python project the way the Pulumi CLI does: `Pulumi.yaml` and one stack file.

No Pulumi import here: this is plain file reading, shared by `preview` and `check`.

Config rules followed (Pulumi docs, "Configuration" and "Project file reference"):
- a stack file is `<stackConfigDir>/Pulumi.<stack>.yaml` with a top-level `config:` map;
- a bare key (`replicas`) belongs to the project namespace (`<project>:replicas`);
- `{secure: <ciphertext>}` is an encrypted value; it is never decrypted here, only marked secret;
- the program receives every value as a string: scalars as their text, objects and lists as JSON;
- `config:` in `Pulumi.yaml` declares project keys (`{type, default, secret}` or a bare default value)
  and may set defaults for other namespaces (`aws:region: us-east-1`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servestack.errors import ConfigError
from servestack.yamlio import load_yaml_file

__all__ = [
    "ProjectInfo",
    "StackConfig",
    "SECRET_PLACEHOLDER",
    "load_project",
    "list_stacks",
    "resolve_stack",
    "check_stack_name",
    "load_stack_config",
]

SECRET_PLACEHOLDER = "[secret]"
"""What a program receives for a `secure:` value offline, and how every secret is shown."""

_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[^.]+)\.ya?ml$")
# Pulumi's stack names: letters, digits, '-', '_' and '.', at most 100 characters (the service's limit).
_STACK_NAME_MAX = 100
_STACK_NAME = re.compile(rf"^[A-Za-z0-9_.-]{{1,{_STACK_NAME_MAX}}}$")
_PROJECT_TYPES = ("string", "integer", "boolean", "array", "object")


@dataclass(frozen=True)
class ProjectInfo:
    """The parts of `Pulumi.yaml` the offline engine needs."""

    directory: Path
    name: str
    runtime: str
    main: Path
    """The program entry: a `.py` file or a directory holding `__main__.py`."""
    stack_config_dir: Path
    config_decls: dict[str, Any] = field(default_factory=dict)
    """The project file's `config:` block as written."""


@dataclass(frozen=True)
class StackConfig:
    """A stack's effective configuration, in the form the Python SDK receives it."""

    stack: str
    path: Path | None
    values: dict[str, str]
    """Fully qualified key (`ns:key`) -> value as the SDK receives it (scalars as text, objects as JSON)."""
    secret_keys: frozenset[str]
    raw: dict[str, Any]
    """Fully qualified key -> the YAML value (secrets replaced by the placeholder), for display."""


def _read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    # YAML 1.2, as the Pulumi CLI reads it: `on`/`yes` stay strings (PyYAML's 1.1 would make them booleans).
    data = load_yaml_file(path, what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path}: expected a YAML mapping, found {type(data).__name__}")
    return data


def load_project(project_dir: Path) -> ProjectInfo:
    """Read `<project_dir>/Pulumi.yaml`; `ConfigError` (exit 2) when it is missing or not a Python project."""
    directory = project_dir.resolve()
    path = directory / "Pulumi.yaml"
    if not path.is_file():
        alt = directory / "Pulumi.yml"
        if not alt.is_file():
            raise ConfigError(
                f"{directory}: no Pulumi.yaml here; run from a Pulumi project directory "
                "(one holding Pulumi.yaml with name and runtime: python)"
            )
        path = alt
    data = _read_yaml_mapping(path, "project file")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"project file {path}: 'name' is missing; give the project a name")
    runtime = data.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name != "python":
        raise ConfigError(
            f"project file {path}: runtime {runtime_name!r} is not supported offline; allowed: 'python'"
        )
    for key in ("main", "stackConfigDir"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise ConfigError(f"project file {path}: {key} {data[key]!r} is not valid; give a relative path")
    main_rel = data.get("main") or "."
    main = (directory / str(main_rel)).resolve()
    if main.is_dir():
        if not (main / "__main__.py").is_file():
            raise ConfigError(f"project file {path}: main {str(main_rel)!r} has no __main__.py")
    elif not main.is_file():
        raise ConfigError(f"project file {path}: main {str(main_rel)!r} does not exist")
    config_dir = data.get("stackConfigDir") or "."
    stack_config_dir = (directory / str(config_dir)).resolve()
    if stack_config_dir.exists() and not stack_config_dir.is_dir():
        raise ConfigError(
            f"project file {path}: stackConfigDir {config_dir!r} is a file, not a directory; "
            "move the file away or point stackConfigDir at the directory of the stack files"
        )
    decls = data.get("config") or {}
    if not isinstance(decls, dict):
        raise ConfigError(f"project file {path}: 'config' must be a mapping of key to declaration")
    return ProjectInfo(
        directory=directory,
        name=name,
        runtime="python",
        main=main,
        stack_config_dir=stack_config_dir,
        config_decls=decls,
    )


def list_stacks(project: ProjectInfo) -> list[str]:
    """Stack names that have a stack file, sorted."""
    if not project.stack_config_dir.is_dir():
        return []
    names = []
    for entry in project.stack_config_dir.iterdir():
        m = _STACK_FILE.match(entry.name)
        if m and entry.is_file():
            names.append(m.group("stack"))
    return sorted(names)


def resolve_stack(project: ProjectInfo, stack: str | None) -> str:
    """The stack to use: the one asked for, or the only one there is."""
    if stack is not None:
        return check_stack_name(stack)
    stacks = list_stacks(project)
    if len(stacks) == 1:
        return stacks[0]
    if not stacks:
        raise ConfigError(
            f"no stack file in {project.stack_config_dir}; write one with `servestack plan SPEC --env ENV --write` "
            "or pass -s STACK"
        )
    raise ConfigError(f"-s: no stack given and {len(stacks)} exist; allowed: {', '.join(stacks)}")


def check_stack_name(stack: str) -> str:
    """`stack` when it is a stack name Pulumi accepts; `ConfigError` otherwise (it becomes a file name)."""
    if not _STACK_NAME.match(stack):
        shown = stack if len(stack) <= 80 else stack[:60] + f"... ({len(stack)} characters)"
        raise ConfigError(
            f"-s: stack name {shown!r} is not valid; allowed: 1-{_STACK_NAME_MAX} letters, digits, '-', '_' or '.' "
            "(the stack's own name, without organization/project)"
        )
    return stack


def _qualify(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _contains_secure(value: Any) -> bool:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return True
        return any(_contains_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_secure(v) for v in value)
    return False


def _mask_secure(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            if not isinstance(value["secure"], str):
                raise ConfigError(f"config key {key!r}: a secure value must be a string of ciphertext")
            return SECRET_PLACEHOLDER
        return {k: _mask_secure(key, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secure(key, v) for v in value]
    return value


def _as_sdk_string(value: Any) -> str:
    """The text form the Python SDK gets from the engine (objects as JSON, booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=False, default=str)
    if value is None:
        return ""
    return str(value)


def _check_declared_type(key: str, decl_type: str, value: Any) -> None:
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }[decl_type]
    if not ok and value != SECRET_PLACEHOLDER:
        raise ConfigError(f"config key {key!r}: {value!r} is not valid; Pulumi.yaml declares it as {decl_type}")


def load_stack_config(project: ProjectInfo, stack: str) -> StackConfig:
    """The stack's effective config: project defaults overlaid with the stack file; never decrypts."""
    path = project.stack_config_dir / f"Pulumi.{check_stack_name(stack)}.yaml"
    if path.exists() and not path.is_file():
        raise ConfigError(f"stack file {path}: is a directory, not a file; move it away")
    if not path.is_file():
        known = list_stacks(project)
        hint = f"; stacks with a file: {', '.join(known)}" if known else ""
        raise ConfigError(f"-s: stack {stack!r} has no stack file {path}{hint}")
    data = _read_yaml_mapping(path, "stack file")
    stack_cfg = data.get("config") or {}
    if not isinstance(stack_cfg, dict):
        raise ConfigError(f"stack file {path}: 'config' must be a mapping of key to value")

    raw: dict[str, Any] = {}
    secret: set[str] = set()
    declared_types: dict[str, str] = {}
    for key, decl in project.config_decls.items():
        full = _qualify(project.name, str(key))
        if isinstance(decl, dict) and {"type", "default", "secret", "description", "items"} & set(decl):
            decl_type = decl.get("type")
            if decl_type is not None:
                if decl_type not in _PROJECT_TYPES:
                    raise ConfigError(
                        f"Pulumi.yaml config {key!r}: type {decl_type!r} is not valid; "
                        f"allowed: {', '.join(_PROJECT_TYPES)}"
                    )
                declared_types[full] = decl_type
            if decl.get("secret"):
                secret.add(full)
            if "default" in decl:
                raw[full] = decl["default"]
        else:
            raw[full] = decl

    for key, value in stack_cfg.items():
        full = _qualify(project.name, str(key))
        if _contains_secure(value):
            secret.add(full)
        raw[full] = _mask_secure(full, value)

    for full, decl_type in declared_types.items():
        if full in raw:
            _check_declared_type(full, decl_type, raw[full])

    values = {k: _as_sdk_string(v) for k, v in raw.items()}
    return StackConfig(stack=stack, path=path, values=values, secret_keys=frozenset(secret), raw=raw)
