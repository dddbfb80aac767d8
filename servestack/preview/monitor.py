"""The engine's side of a Pulumi deployment, served offline: the ResourceMonitor and Engine gRPC services.

The program runs in its own process (`program_host`) and talks to these services exactly as it talks to the
Pulumi engine. Everything `preview` and `check` know about the program's resources is what arrives here, in
the checker's own process: nothing the program does to its own interpreter can change the record.

Providers are replaced by `PreviewMocks` (ids, ARNs, auto-names, data sources). What the engine would hand to
a provider that is not available offline is recorded as *unevaluated*: a Helm release renders its chart inside
the provider, a multi-language component is built by its provider's `Construct`. Kubernetes YAML is the
exception: decoding it needs no cluster, so `kubernetes:yaml:decode` (yaml v1) is answered and yaml/v2
ConfigGroup/ConfigFile children are registered here as the provider would register them.
"""

from __future__ import annotations

import glob
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import yaml
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2, resource_pb2, resource_pb2_grpc

from servestack.preview.mocks import PreviewMocks
from servestack.preview.wire import decode_struct, encode_struct, plain

__all__ = ["Registration", "Unevaluated", "OfflineEngine", "serve"]

_MAX_MESSAGE = 400 * 1024 * 1024  # as the Pulumi engine: gRPC's 4 MiB default is too small for big programs
_SERVER_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_MAX_YAML_BYTES = 16 * 1024 * 1024

_HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
_YAML_V2 = ("kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml/v2:ConfigFile")
_OPAQUE_INVOKES = {
    "kubernetes:helm:template": "a Helm v3 Chart is rendered by the Kubernetes provider (helm template), "
    "which is not available offline",
    "kubernetes:kustomize:directory": "a kustomization is built by the Kubernetes provider, which is not "
    "available offline",
}
# Supported by this engine. Transforms are left out on purpose: the engine runs them by calling back into the
# program, which this engine does not do, so a program that registers one fails instead of being judged
# without it.
_FEATURES = [
    resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
    resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
    resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
    resource_pb2.RESOURCE_MONITOR_FEATURE_PARAMETERIZATION,
]
_FEATURE_NAMES = {"secrets", "resourceReferences", "aliasSpecs", "deletedWith", "parameterization"}
_LOG_LEVELS = {
    engine_pb2.DEBUG: "debug",
    engine_pb2.INFO: "info",
    engine_pb2.WARNING: "warning",
    engine_pb2.ERROR: "error",
}


@dataclass
class Registration:
    """One resource as the engine received it (inputs with secrets in wire form)."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    dependencies: list[str]
    inputs: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Unevaluated:
    """Something the offline engine could not see inside: the verdict cannot cover what it creates."""

    urn: str
    type: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"urn": self.urn, "type": self.type, "reason": self.reason}


def _urn(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    if parent:
        parent_type = parent.split("::")[2].split("$")[-1] if parent.count("::") >= 3 else ""
        if parent_type:
            type_ = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def alias_urn(alias: Any, request: Any, stack: str, project: str) -> str:
    """The URN an alias names, as the engine resolves it: unset parts of a spec default to the resource's own."""
    if alias.urn:
        return str(alias.urn)
    spec = alias.spec
    stack = spec.stack or stack
    project = spec.project or project
    which = spec.WhichOneof("parent")
    # An empty parentUrn (what the SDK sends for an alias that names no parent) means "the current parent".
    parent = "" if which == "noParent" else (spec.parentUrn or request.parent)
    return _urn(stack, project, parent, spec.type or request.type, spec.name or request.name)


def _options(request: Any, stack: str, project: str) -> dict[str, Any]:
    """The resource options of a RegisterResourceRequest, under the names Pulumi's docs use; unset ones left out."""
    out: dict[str, Any] = {}
    if request.parent:
        out["parent"] = request.parent
    if request.provider:
        out["provider"] = request.provider
    if request.providers:
        out["providers"] = dict(sorted(request.providers.items()))
    if request.dependencies:
        out["dependsOn"] = sorted(set(request.dependencies))
    if request.protect:
        out["protect"] = True
    if request.ignoreChanges:
        out["ignoreChanges"] = list(request.ignoreChanges)
    if request.replaceOnChanges:
        out["replaceOnChanges"] = list(request.replaceOnChanges)
    if request.deleteBeforeReplaceDefined or request.deleteBeforeReplace:
        out["deleteBeforeReplace"] = bool(request.deleteBeforeReplace)
    if request.retainOnDelete:
        out["retainOnDelete"] = True
    if request.additionalSecretOutputs:
        out["additionalSecretOutputs"] = list(request.additionalSecretOutputs)
    aliases = [alias_urn(a, request, stack, project) for a in request.aliases] + list(request.aliasURNs)
    if aliases:
        out["aliases"] = sorted(set(aliases))
    if request.deletedWith:
        out["deletedWith"] = request.deletedWith
    if request.importId:
        out["import"] = request.importId
    if request.version:
        out["version"] = request.version
    if request.HasField("customTimeouts"):
        timeouts = {
            k: v
            for k in ("create", "update", "delete")
            if (v := getattr(request.customTimeouts, k))
        }
        if timeouts:
            out["customTimeouts"] = timeouts
    return out


def _kubernetes_type(api_version: str, kind: str) -> str:
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def _flatten(objects: list[Any]) -> Iterator[dict[str, Any]]:
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        if str(obj.get("kind", "")).endswith("List") and isinstance(obj.get("items"), list):
            yield from _flatten(obj["items"])
        else:
            yield obj


def decode_yaml(text: str) -> list[dict[str, Any]]:
    """The objects of a multi-document Kubernetes manifest, as `kubernetes:yaml:decode` returns them."""
    if len(text.encode("utf-8", "replace")) > _MAX_YAML_BYTES:
        raise ValueError(f"manifest larger than {_MAX_YAML_BYTES // (1024 * 1024)} MiB")
    return list(_flatten([d for d in yaml.safe_load_all(text) if d is not None]))


class OfflineEngine:
    """What the engine records of a deployment: registrations, the stack's outputs, log lines, blind spots."""

    def __init__(self, project: str, stack: str, mocks: PreviewMocks, program_dir: Path) -> None:
        self.project = project
        self.stack = stack
        self.mocks = mocks
        self.program_dir = program_dir
        self.registrations: list[Registration] = []
        self.unevaluated: list[Unevaluated] = []
        self.log: list[tuple[str, str]] = []
        self.outputs: dict[str, Any] = {}
        self.stack_urn: str | None = None
        self.root_urn = ""
        self._states: dict[str, tuple[str, dict[str, Any]]] = {}
        self._urns: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """Refuse anything sent from now on: the program's process has ended, the record is final."""
        with self._lock:
            self._closed = True

    def _check_open(self, context: Any) -> None:
        if self._closed:
            context.abort(grpc.StatusCode.UNAVAILABLE, "the deployment has ended")

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return _urn(self.stack, self.project, parent, type_, name)

    # -- resources --------------------------------------------------------------------------------------

    def _record(self, reg: Registration, state: dict[str, Any], context: Any) -> None:
        with self._lock:
            if reg.urn in self._urns:
                # As the engine: one URN, one resource. Recording both would judge a graph that cannot deploy.
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"Duplicate resource URN '{reg.urn}'; "
                              "try giving it a unique name")
            self.registrations.append(reg)
            self._urns.add(reg.urn)
            self._states[reg.urn] = (reg.id or "", state)

    def _new_resource(
        self, type_: str, name: str, inputs: dict[str, Any], provider: str, resource_id: str, custom: bool
    ) -> tuple[str, dict[str, Any]]:
        args = MockResourceArgs(
            typ=type_, name=name, inputs=inputs, provider=provider, resource_id=resource_id, custom=custom
        )
        rid, state = self.mocks.new_resource(args)
        return rid or "", state

    def register(self, request: Any, context: Any) -> Any:
        self._check_open(context)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs = decode_struct(request.object)
        custom = bool(request.custom)
        rid, state = self._new_resource(
            request.type, request.name, inputs, request.provider, request.importId, custom
        )
        reg = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            custom=custom,
            provider=request.provider or None,
            dependencies=sorted(set(request.dependencies)),
            inputs=inputs,
            options=_options(request, self.stack, self.project),
            id=(rid or None) if custom else None,
        )
        self._record(reg, state, context)
        if request.type == _HELM_RELEASE:
            self._blind(urn, request.type, "a Helm release renders and installs its chart inside the Kubernetes "
                        "provider at deploy time; the objects it creates are not visible offline")
        elif request.remote and request.type in _YAML_V2:
            state = self._construct_yaml(request, urn, inputs, context)
        elif request.remote:
            self._blind(urn, request.type, "a multi-language component is built by its provider's Construct, "
                        "which is not available offline; its children are not visible")
        return resource_pb2.RegisterResourceResponse(urn=urn, id=rid if custom else "", object=encode_struct(state))

    def _blind(self, urn: str, type_: str, reason: str) -> None:
        with self._lock:
            self.unevaluated.append(Unevaluated(urn, type_, reason))

    def _construct_yaml(self, request: Any, urn: str, inputs: dict[str, Any], context: Any) -> dict[str, Any]:
        """Register a yaml/v2 component's objects as its children, as the Kubernetes provider's Construct does."""
        args = plain(inputs)
        texts: list[str] = []
        objects: list[Any] = []
        files = args.get("files") or ([args["file"]] if args.get("file") else [])
        for pattern in files if isinstance(files, list) else [files]:
            pattern = str(pattern)
            if "://" in pattern:
                self._blind(urn, request.type, f"manifest {pattern} is fetched from the network at deploy time")
                continue
            base = self.program_dir
            matches = sorted(glob.glob(str(base / pattern))) if glob.has_magic(pattern) else [str(base / pattern)]
            for path in matches:
                try:
                    texts.append(Path(path).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError) as exc:
                    self._blind(urn, request.type, f"manifest {pattern} cannot be read: {exc}")
        raw_yaml = args.get("yaml")
        texts += [str(t) for t in (raw_yaml if isinstance(raw_yaml, list) else [raw_yaml]) if t]
        for text in texts:
            try:
                objects += decode_yaml(text)
            except (yaml.YAMLError, ValueError) as exc:
                self._blind(urn, request.type, f"manifest cannot be decoded: {exc}")
        objs = args.get("objs")
        objects += list(_flatten(objs if isinstance(objs, list) else [objs] if objs else []))
        prefix = args.get("resourcePrefix")
        prefix = request.name if prefix is None else str(prefix)
        provider = request.providers.get("kubernetes", "") or request.provider
        children = []
        for obj in objects:
            meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
            if not obj.get("apiVersion") or not obj.get("kind") or not meta.get("name"):
                self._blind(urn, request.type, "an object without apiVersion, kind or metadata.name")
                continue
            ident = f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else str(meta["name"])
            name = f"{prefix}:{ident}" if prefix else ident
            type_ = _kubernetes_type(str(obj["apiVersion"]), str(obj["kind"]))
            child_urn = self.make_urn(urn, type_, name)
            rid, state = self._new_resource(type_, name, dict(obj), provider, "", True)
            child = Registration(child_urn, type_, name, urn, True, provider or None, [], dict(obj), {}, rid)
            child.options = {"parent": urn, **({"provider": provider} if provider else {})}
            self._record(child, state, context)
            children.append(child_urn)
        return {"resources": children}

    def read(self, request: Any, context: Any) -> Any:
        self._check_open(context)
        inputs = decode_struct(request.properties)
        _, state = self._new_resource(request.type, request.name, inputs, request.provider, request.id, True)
        urn = self.make_urn(request.parent, request.type, request.name)
        with self._lock:
            self._states[urn] = (request.id, state)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=encode_struct(state))

    def register_outputs(self, request: Any, context: Any) -> Any:
        self._check_open(context)
        if self.stack_urn is not None and request.urn == self.stack_urn:
            self.outputs = decode_struct(request.outputs)
        return empty_pb2.Empty()

    # -- data sources -----------------------------------------------------------------------------------

    def invoke(self, request: Any, context: Any) -> Any:
        self._check_open(context)
        args = decode_struct(request.args)
        token = request.tok
        failures: list[Any] = []
        if token == "pulumi:pulumi:getResource":
            urn = str(args.get("urn", ""))
            with self._lock:
                known = self._states.get(urn)
            if known is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown resource {urn}")
                raise AssertionError("unreachable: abort raises")
            result: dict[str, Any] = {"urn": urn, "id": known[0], "state": known[1]}
        elif token == "kubernetes:yaml:decode":
            try:
                result = {"result": decode_yaml(str(plain(args.get("text")) or ""))}
            except (yaml.YAMLError, ValueError) as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"kubernetes:yaml:decode: {exc}")
        elif token in _OPAQUE_INVOKES:
            self._blind("", token, _OPAQUE_INVOKES[token])
            result = {}
        else:
            answer = self.mocks.call(MockCallArgs(token=token, args=args, provider=request.provider))
            if isinstance(answer, tuple):
                result, raw_failures = answer
                failures = [provider_pb2.CheckFailure(property=p, reason=r) for p, r in raw_failures]
            else:
                result = answer
        return resource_pb2.ResourceInvokeResponse(failures=failures, **{"return": encode_struct(result)})

    def log_message(self, request: Any) -> None:
        with self._lock:
            self.log.append((_LOG_LEVELS.get(request.severity, "info"), str(request.message)))


class _Monitor(resource_pb2_grpc.ResourceMonitorServicer):
    def __init__(self, engine: OfflineEngine) -> None:
        self.engine = engine

    def SupportsFeature(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method names
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id in _FEATURE_NAMES)

    def GetDeploymentInfo(self, request: Any, context: Any) -> Any:  # noqa: N802
        return resource_pb2.DeploymentInfo(supportedFeatures=_FEATURES)

    def RegisterResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.engine.register(request, context)

    def RegisterResourceOutputs(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.engine.register_outputs(request, context)

    def ReadResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.engine.read(request, context)

    def Invoke(self, request: Any, context: Any) -> Any:  # noqa: N802
        return self.engine.invoke(request, context)

    def Call(self, request: Any, context: Any) -> Any:  # noqa: N802
        # Methods of multi-language components run in their provider; offline they return nothing.
        return provider_pb2.CallResponse()

    def RegisterPackage(self, request: Any, context: Any) -> Any:  # noqa: N802
        return resource_pb2.RegisterPackageResponse(ref=f"offline-{request.name}")

    def RegisterResourceHook(self, request: Any, context: Any) -> Any:  # noqa: N802
        return empty_pb2.Empty()  # hooks run at deploy time

    def RegisterErrorHook(self, request: Any, context: Any) -> Any:  # noqa: N802
        return empty_pb2.Empty()

    def SignalAndWaitForShutdown(self, request: Any, context: Any) -> Any:  # noqa: N802
        # The program says it is done; the checker learns that from the program's own exit and report.
        return empty_pb2.Empty()


class _Engine(engine_pb2_grpc.EngineServicer):
    def __init__(self, engine: OfflineEngine) -> None:
        self.engine = engine

    def Log(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.engine.log_message(request)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self.engine.root_urn)

    def SetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.engine.root_urn = str(request.urn)
        return engine_pb2.SetRootResourceResponse()


def serve(engine: OfflineEngine) -> tuple[grpc.Server, str]:
    """Start the monitor and engine services on a free loopback port; returns the server and its address."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), options=_SERVER_OPTIONS)
    resource_pb2_grpc.add_ResourceMonitorServicer_to_server(_Monitor(engine), server)
    engine_pb2_grpc.add_EngineServicer_to_server(_Engine(engine), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"

