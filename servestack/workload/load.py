"""Reading a workload spec file: YAML -> `WorkloadSpec`, with errors that name field, value and rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from servestack.errors import SpecError, did_you_mean
from servestack.workload.spec import FieldValueError, WorkloadSpec

__all__ = ["load_spec", "parse_spec", "spec_error_from_validation"]


def load_spec(path: str | Path) -> WorkloadSpec:
    """Read and validate a spec file; raises `SpecError` (exit 2) on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("spec", str(p), "the file does not exist") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise SpecError("spec", str(p), f"cannot read it as UTF-8 text ({exc.__class__.__name__})") from None
    return parse_spec(text, source=str(p))


def parse_spec(text: str, source: str = "<spec>") -> WorkloadSpec:
    """Validate spec YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(source, f"malformed YAML at {where}", f"fix the YAML syntax: {problem}") from None
    if data is None:
        raise SpecError(source, "<empty>", "a spec is a YAML mapping with name, model and traffic")
    if not isinstance(data, dict):
        raise SpecError(source, type(data).__name__, "a spec is a YAML mapping with name, model and traffic")
    try:
        return WorkloadSpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from_validation(exc) from None


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif parts:
            parts.append(f".{item}")
        else:
            parts.append(str(item))
    return "".join(parts) or "spec"


def spec_error_from_validation(exc: ValidationError) -> SpecError:
    """The first pydantic error, phrased as field / value / what is allowed."""
    err = exc.errors(include_url=False)[0]
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith(("function-", "literal["))))
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, FieldValueError):
        # A cross-field rule: name the one field that breaks it, not the whole block it lives in.
        return SpecError(_field_path((*loc, *inner.field.split("."))), inner.value, str(inner))
    field = _field_path(loc)
    kind = err["type"]
    value = err.get("input")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = _field_path(loc[:-1])
        keys = _allowed_keys(loc[:-1])
        hint = did_you_mean(str(loc[-1]), keys) if loc else ""
        allowed = f"unknown key{hint}; allowed keys of {parent}: " + ", ".join(keys)
        return SpecError(field, value, allowed)
    if kind == "missing":
        return SpecError(field, "<missing>", "this field is required")
    if kind == "literal_error":
        allowed = msg.replace("Input should be", "allowed:")
        if isinstance(value, str):
            choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            allowed += did_you_mean(value, choices)
        return SpecError(field, value, allowed)
    return SpecError(field, value, msg)


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = WorkloadSpec
    for item in loc:
        if isinstance(item, int):
            continue
        field = model.model_fields.get(item)
        if field is None:
            return []
        ann = field.annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)]
        for candidate in inner:
            if hasattr(candidate, "model_fields"):
                model = candidate
                break
            args = getattr(candidate, "__args__", ())
            if args and hasattr(args[0], "model_fields"):
                model = args[0]
                break
    return sorted(model.model_fields)
