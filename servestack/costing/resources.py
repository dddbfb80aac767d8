"""A resource as costing and policies see it: type token, inputs, and the values a preview cannot know yet.

Resources come from two places: the offline preview (plain dicts, everything known) and a CrossGuard
analyzer (`pulumi_policy` wraps inputs in proxies that raise when an unknown value is read, and the wire
format marks unknowns with sentinel strings). Both are normalised here into plain Python values in which
every unknown is the single `UNKNOWN` object, so rules and pricing test for it in one way.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, Protocol, runtime_checkable

__all__ = [
    "UNKNOWN",
    "Unknown",
    "MISSING",
    "Resource",
    "ResourceLike",
    "normalize",
    "as_resource",
    "as_resources",
    "lookup",
    "is_unknown",
    "contains_unknown",
]


class Unknown:
    """A value only known after `pulumi up` (an output of another resource, during a preview)."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        # An unknown must never pass an `if value:` check by accident.
        raise TypeError("an unknown preview value has no truth value; test it with is_unknown()")


UNKNOWN: Final = Unknown()


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Final = _Missing()
"""Returned by `lookup` when a key is absent (distinct from an explicit None and from UNKNOWN)."""

# Pulumi's wire-protocol sentinels for unknown values (sdk/go/common/resource/plugin/rpc.go and
# pulumi_policy.proxy carry the same constants); the engine sends them to analyzers during a preview.
_UNKNOWN_SENTINELS: Final = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string (also the SDK's generic UNKNOWN)
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


@cache
def _proxy_errors() -> tuple[type[BaseException], ...]:
    """pulumi_policy's UnknownValueError when that package is installed (costing works without it)."""
    try:
        module = importlib.import_module("pulumi_policy.proxy")
    except ImportError:
        return ()
    error = getattr(module, "UnknownValueError", None)
    return (error,) if isinstance(error, type) and issubclass(error, BaseException) else ()


def _is_sdk_unknown(value: object) -> bool:
    # pulumi.output.Unknown appears when SDK-side code deserialises a preview; matched by type so costing
    # does not import the Pulumi SDK.
    kind = type(value)
    return kind.__name__ == "Unknown" and kind.__module__.startswith("pulumi")


def normalize(value: Any) -> Any:
    """Plain dicts/lists/scalars, every unknown replaced by UNKNOWN (proxies are read item by item)."""
    errors = _proxy_errors()
    if isinstance(value, Unknown) or _is_sdk_unknown(value):
        return UNKNOWN
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value.keys()):
            try:
                item = value[key]
            except errors:
                out[str(key)] = UNKNOWN
                continue
            out[str(key)] = normalize(item)
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                item = value[index]
            except errors:
                items.append(UNKNOWN)
                continue
            items.append(normalize(item))
        return items
    return value


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def contains_unknown(value: object) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def lookup(value: Any, *path: str | int) -> Any:
    """`value[path[0]][path[1]]...`; MISSING when a step is absent, UNKNOWN when a step is unknown."""
    current = value
    for step in path:
        if isinstance(current, Unknown):
            return UNKNOWN
        if isinstance(step, int):
            if not isinstance(current, list) or not -len(current) <= step < len(current):
                return MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return MISSING
            current = current[step]
    return current


@runtime_checkable
class ResourceLike(Protocol):
    """What costing and policies need of a resource: the preview's records and policy resources both fit."""

    @property
    def urn(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def inputs(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource with normalised inputs.

    `dependencies` are URNs of the resources it depends on (used to find the launch template a node group
    uses and the subnets it runs in); `provider` holds the inputs of its provider resource when known
    (region, AWS `defaultTags`).
    """

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    provider: dict[str, Any] | None = None
    parent: str | None = None

    def get(self, *path: str | int) -> Any:
        return lookup(self.inputs, *path)


def as_resource(item: ResourceLike | Resource, provider: Mapping[str, Any] | None = None) -> Resource:
    """Normalise one resource-like object; reads optional `dependencies`/`parent` when the object has them."""
    if isinstance(item, Resource):
        # Normalised again: hand-built records may still carry wire sentinels.
        inputs = normalize(item.inputs)
        given = item.provider if item.provider is not None else provider
        return Resource(item.urn, item.type, item.name, inputs if isinstance(inputs, dict) else {},
                        item.dependencies, normalize(given) if given is not None else None, item.parent)
    raw_deps = getattr(item, "dependencies", ())
    deps: list[str] = []
    if isinstance(raw_deps, Iterable):
        for dep in raw_deps:
            deps.append(dep if isinstance(dep, str) else str(getattr(dep, "urn", dep)))
    parent = getattr(item, "parent", None)
    normal = normalize(item.inputs)
    return Resource(
        urn=item.urn,
        type=item.type,
        name=item.name,
        inputs=normal if isinstance(normal, dict) else {},
        dependencies=tuple(deps),
        provider=normalize(provider) if provider is not None else None,
        parent=parent if isinstance(parent, str) else None,
    )


def as_resources(items: Iterable[ResourceLike | Resource]) -> list[Resource]:
    """Normalise a graph; explicit provider resources in it are attached to the resources that use them."""
    listed = list(items)
    providers: dict[str, Mapping[str, Any]] = {}
    for item in listed:
        if item.type.startswith("pulumi:providers:"):
            providers[item.urn] = item.inputs
    out: list[Resource] = []
    for item in listed:
        ref = getattr(item, "provider", None)
        provider_inputs: Mapping[str, Any] | None = None
        if isinstance(ref, str) and ref:
            provider_inputs = providers.get(ref.rsplit("::", 1)[0])
        out.append(as_resource(item, provider_inputs))
    return out
