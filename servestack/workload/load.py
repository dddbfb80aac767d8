"""Reading a workload spec file: YAML -> `WorkloadSpec`, with errors that name field, value and rule."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from servestack.errors import SpecError, did_you_mean
from servestack.workload.spec import FieldValueError, WorkloadSpec
from servestack.yamlio import parse_yaml, read_user_text

__all__ = ["load_spec", "parse_spec", "spec_error_from_validation"]


def load_spec(path: str | Path) -> WorkloadSpec:
    """Read and validate a spec file; raises `SpecError` (exit 2) on any problem."""
    text = read_user_text(path, "spec")
    return parse_spec(text, source=str(path), base_dir=Path(path).parent)


def parse_spec(text: str, source: str = "<spec>", base_dir: Path | None = None) -> WorkloadSpec:
    """Validate spec YAML text; `traffic.request_log` is read relative to `base_dir` (default: the cwd)."""
    data = parse_yaml(text, source, "spec")
    if data is None:
        raise SpecError(source, "<empty>", "a spec is a YAML mapping with name, model and traffic")
    if not isinstance(data, dict):
        raise SpecError(source, type(data).__name__, "a spec is a YAML mapping with name, model and traffic")
    data = _resolve_request_log(data, base_dir or Path.cwd())
    try:
        return WorkloadSpec.model_validate(data)
    except ValidationError as exc:
        raise spec_error_from_validation(exc) from None


def _resolve_request_log(data: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """Replace `traffic.request_log` by the `request_mix` derived from it (servestack.workload.request_log)."""
    traffic = data.get("traffic")
    if not isinstance(traffic, dict) or "request_log" not in traffic:
        return data
    log = traffic["request_log"]
    if not isinstance(log, str) or not log.strip():
        raise SpecError("traffic.request_log", log, "the path of a CSV file, relative to the spec file")
    if "request_mix" in traffic:
        raise SpecError("traffic.request_log", log, "give traffic.request_mix or traffic.request_log, not both")
    from servestack.workload.request_log import classes_from_log, read_request_log

    resolved = {k: v for k, v in traffic.items() if k != "request_log"}
    resolved["request_mix"] = classes_from_log(read_request_log(base_dir / log))
    return {**data, "traffic": resolved}


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
    """Every pydantic error, phrased as field / value / what is allowed; the first one leads.

    Unknown keys come first, those with a did-you-mean before the rest: a misspelt key usually explains
    the "missing" error reported next to it.
    """
    ranked = [_one_error(err) for err in exc.errors(include_url=False)]
    ranked.sort(key=lambda pair: pair[0])
    first, *rest = (error for _, error in ranked)
    return SpecError(first.field, first.value, first.allowed, also=rest) if rest else first


def _one_error(err: Any) -> tuple[int, SpecError]:
    """One pydantic error as a `SpecError`, with its rank: 0 a typo with a hint, 1 another unknown key, 2 the rest."""
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith(("function-", "literal["))))
    inner = (err.get("ctx") or {}).get("error")
    if isinstance(inner, FieldValueError):
        # A cross-field rule: name the one field that breaks it, not the whole block it lives in.
        return 2, SpecError(_field_path((*loc, *inner.field.split("."))), inner.value, str(inner))
    field = _field_path(loc)
    kind = err["type"]
    value = err.get("input")
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = _field_path(loc[:-1])
        keys = _allowed_keys(loc[:-1])
        hint = did_you_mean(str(loc[-1]), keys) if loc else ""
        allowed = f"unknown key{hint}; allowed keys of {parent}: " + ", ".join(keys)
        return (0 if hint else 1), SpecError(field, value, allowed)
    if kind == "missing":
        return 2, SpecError(field, "<missing>", "this field is required")
    if kind == "literal_error":
        allowed = msg.replace("Input should be", "allowed:")
        if isinstance(value, str):
            choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
            allowed += did_you_mean(value, choices)
        return 2, SpecError(field, value, allowed)
    return 2, SpecError(field, value, msg)


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
