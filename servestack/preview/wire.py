"""Pulumi's property encoding on the wire, read and written without the SDK's runtime.

The checker plays the engine: it receives a program's properties as `google.protobuf.Struct` and must keep
them as data, never turn them back into live SDK objects (a resource reference would otherwise need the
program's own runtime). Special values are tagged maps keyed by `SIG_KEY`:

- secrets stay in wire form, `{SIG_KEY: SECRET_SIG, "value": v}`, so the policies can be sent the real value
  (as the engine does) while every printed document shows "[secret]";
- resource references become their URN, assets/archives a short placeholder, output values their value;
- the unknown sentinel string is kept as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]

__all__ = [
    "SIG_KEY",
    "SECRET_SIG",
    "UNKNOWN",
    "SECRET_PLACEHOLDER",
    "decode_struct",
    "encode_struct",
    "is_secret",
    "make_secret",
    "masked",
    "plain",
]

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's sentinel for a value not known until deployment."""
SECRET_PLACEHOLDER = "[secret]"


def make_secret(value: Any) -> dict[str, Any]:
    return {SIG_KEY: SECRET_SIG, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SIG_KEY) == SECRET_SIG


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    sig = value.get(SIG_KEY)
    if sig == SECRET_SIG:
        return make_secret(_decode(value.get("value")))
    if sig == _RESOURCE_SIG:
        return str(value.get("urn", ""))
    if sig == _ASSET_SIG:
        return "<Asset>"
    if sig == _ARCHIVE_SIG:
        return "<Archive>"
    if sig == _OUTPUT_VALUE_SIG:
        inner = _decode(value["value"]) if "value" in value else UNKNOWN
        return make_secret(inner) if value.get("secret") else inner
    return {str(k): _decode(v) for k, v in value.items()}


def decode_struct(struct: struct_pb2.Struct | None) -> dict[str, Any]:
    """A received Struct as plain data with secrets kept in wire form (see the module docstring)."""
    if struct is None:
        return {}
    data = json_format.MessageToDict(struct)
    decoded = _decode(data)
    return decoded if isinstance(decoded, dict) else {}


def _to_json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return str(value)


def encode_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Plain data (secrets in wire form) as a Struct, the shape a provider's answer takes."""
    struct = struct_pb2.Struct()
    struct.update({str(k): _to_json(v) for k, v in props.items()})
    return struct


def plain(value: Any) -> Any:
    """`value` with every secret unwrapped: what the cost engine reads, as the policies do."""
    if is_secret(value):
        return plain(value.get("value"))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def masked(value: Any) -> Any:
    """Plain JSON for people: secrets become "[secret]", keys sorted, integral doubles back to ints."""
    if is_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, Mapping):
        # Sorted keys: the wire format keeps no order, and stable output diffs cleanly in review.
        return {str(k): masked(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [masked(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # The wire carries every number as a double; an integral one was an int in the program.
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
