"""Talk to a CrossGuard policy pack over the analyzer protocol, the way the Pulumi CLI does.

What the CLI does for a Python pack (pulumi/pulumi `sdk/go/common/resource/plugin/analyzer_plugin.go`,
`sdk/python/dist/pulumi-analyzer-policy-python`, `sdk/python/lib/pulumi/policy/__main__.py`):

1. runs `python -u -m pulumi.policy <engine-address> .` with the pack directory as working directory
   (the interpreter of `runtime.options.virtualenv` from `PulumiPolicy.yaml` when it names one), and
   the environment `PULUMI_CONFIG` (the stack config as JSON, every value a string), `PULUMI_PROJECT`,
   `PULUMI_STACK`, `PULUMI_DRY_RUN`, `PULUMI_ORGANIZATION`;
2. reads the first stdout line, the gRPC port (`PolicyPack.__init__` binds 127.0.0.1:0 and prints it);
3. calls `Handshake` (Python packs answer UNIMPLEMENTED, which is fine), `ConfigureStack`,
   `GetAnalyzerInfo`, then `Configure` with every policy's reconciled config (see `policy_config`);
4. during the deployment, `Analyze` per resource with its inputs, then `AnalyzeStack` with all resources.

Properties travel as `google.protobuf.Struct` in Pulumi's property encoding: unknown values as the
unknown sentinel string, secrets as `{SIG_KEY: SECRET_SIG, "value": ...}`.

The pack never dials the engine address (its runtime settings carry no engine), so a tiny Engine
service is served only to honour the argument and collect any log line sent to it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2_grpc

from servestack.check.policy_config import (
    ENFORCEMENT_LEVELS,
    PolicyConfigEntry,
    reconcile_policy_config,
)
from servestack.errors import ConfigError, InputFileError
from servestack.yamlio import load_yaml_file

__all__ = [
    "UNKNOWN",
    "SIG_KEY",
    "SECRET_SIG",
    "AnalyzerResource",
    "Diagnostic",
    "PolicyInfo",
    "PackInfo",
    "PolicyPackProcess",
    "duration_seconds",
    "secret",
    "to_wire",
]

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""Pulumi's sentinel for a value not known until deployment."""
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

_LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
_LEVEL_CODES = {name: code for code, name in _LEVEL_NAMES.items()}
_MAX_MESSAGE = 400 * 1024 * 1024  # the CLI and pulumi_policy both raise gRPC's 4 MiB default to 400 MiB
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]


def secret(value: Any) -> dict[str, Any]:
    """Mark a property value secret, in the wire form the engine uses."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def to_wire(value: Any) -> Any:
    """A property value in the JSON shape of Pulumi's Struct encoding.

    Accepts plain JSON values, secrets (`secret()` or the SDK's rpc form), the SDK's `Unknown`
    marker and resource objects (sent as their URN: the engine sends a reference's ID, unknown offline).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        if value.get(SIG_KEY) == SECRET_SIG:
            return {SIG_KEY: SECRET_SIG, "value": to_wire(value.get("value"))}
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    kind = type(value).__name__
    if kind == "Unknown":
        return UNKNOWN
    urn = getattr(value, "urn", None)
    if isinstance(urn, str):
        return urn
    return UNKNOWN


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """A custom timeout ("45m", "1h30m", Go's duration syntax, as the engine parses it) in seconds; 0 if unparsable."""
    text = text.strip()
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return 0.0
    return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update({str(k): to_wire(v) for k, v in props.items()})
    return s


@dataclass(frozen=True)
class AnalyzerResource:
    """One resource as the engine describes it to an analyzer (inputs during preview)."""

    urn: str
    type: str
    name: str
    properties: Mapping[str, Any]
    parent: str = ""
    dependencies: Sequence[str] = ()
    provider_urn: str = ""
    provider_type: str = ""
    provider_name: str = ""
    provider_properties: Mapping[str, Any] = field(default_factory=dict)
    protect: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    """Resource options as the program registered them (`PreviewResource.options`)."""

    def _options(self) -> analyzer_pb2.AnalyzerResourceOptions:
        """The options the engine passes to analyzers (`args.opts` in a policy)."""
        opts = self.options
        raw_timeouts = opts.get("customTimeouts")
        timeouts: Mapping[str, Any] = raw_timeouts if isinstance(raw_timeouts, Mapping) else {}
        dbr = opts.get("deleteBeforeReplace")
        return analyzer_pb2.AnalyzerResourceOptions(
            protect=self.protect or bool(opts.get("protect")),
            ignoreChanges=[str(v) for v in opts.get("ignoreChanges") or ()],
            deleteBeforeReplace=bool(dbr),
            deleteBeforeReplaceDefined=dbr is not None,
            additionalSecretOutputs=[str(v) for v in opts.get("additionalSecretOutputs") or ()],
            aliases=[str(v) for v in opts.get("aliases") or ()],
            parent=self.parent,
            customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
                **{k: duration_seconds(str(timeouts[k])) for k in ("create", "update", "delete") if timeouts.get(k)}
            ),
        )

    def _provider(self) -> analyzer_pb2.AnalyzerProviderResource | None:
        if not self.provider_urn:
            return None
        return analyzer_pb2.AnalyzerProviderResource(
            urn=self.provider_urn,
            type=self.provider_type,
            name=self.provider_name,
            properties=_struct(self.provider_properties),
        )

    def to_request(self) -> analyzer_pb2.AnalyzeRequest:
        req = analyzer_pb2.AnalyzeRequest(
            urn=self.urn, type=self.type, name=self.name, properties=_struct(self.properties), options=self._options()
        )
        provider = self._provider()
        if provider is not None:
            req.provider.CopyFrom(provider)
        return req

    def to_stack_resource(self) -> analyzer_pb2.AnalyzerResource:
        res = analyzer_pb2.AnalyzerResource(
            urn=self.urn,
            type=self.type,
            name=self.name,
            properties=_struct(self.properties),
            options=self._options(),
            parent=self.parent,
            dependencies=list(self.dependencies),
        )
        provider = self._provider()
        if provider is not None:
            res.provider.CopyFrom(provider)
        return res


@dataclass(frozen=True)
class Diagnostic:
    """One violation a pack reported. `urn` is empty for a stack-level violation without a resource."""

    policy: str
    pack: str
    pack_version: str
    enforcement: str
    urn: str
    message: str
    description: str


@dataclass(frozen=True)
class PolicyInfo:
    name: str
    description: str
    enforcement: str
    config_schema: dict[str, Any] | None
    """JSON schema properties of the policy's config (`enforcementLevel` added, as the CLI does)."""
    config_required: tuple[str, ...] = ()


@dataclass(frozen=True)
class PackInfo:
    name: str
    version: str
    supports_config: bool
    policies: tuple[PolicyInfo, ...]
    initial_config: dict[str, PolicyConfigEntry]


class _Engine(engine_pb2_grpc.EngineServicer):
    """Enough of the Engine service for a pack that logs to the engine address it was given."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._root = ""

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802 (gRPC method name)
        self.messages.append(str(request.message))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        from pulumi.runtime.proto import engine_pb2

        return engine_pb2.GetRootResourceResponse(urn=self._root)

    def SetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        from pulumi.runtime.proto import engine_pb2

        self._root = str(request.urn)
        return engine_pb2.SetRootResourceResponse()


def _pack_python(pack_dir: Path) -> str:
    """The interpreter the CLI's shim would use: the pack's virtualenv when it declares one that exists."""
    try:
        data = load_yaml_file(pack_dir / "PulumiPolicy.yaml", "policy pack file") or {}
    except InputFileError:
        data = {}
    runtime = data.get("runtime") if isinstance(data, dict) else None
    options = runtime.get("options") if isinstance(runtime, dict) else None
    venv = options.get("virtualenv") if isinstance(options, dict) else None
    if isinstance(venv, str) and venv:
        candidate = (pack_dir / venv / "bin" / "python").resolve()
        if candidate.is_file():
            return str(candidate)
    return sys.executable


class PolicyPackProcess:
    """A policy pack started as its own process and spoken to over the analyzer protocol.

    Use as a context manager; `start()` alone launches the process without waiting for it, so that
    several packs (and the preview) can boot at the same time before `wait_ready()`.
    """

    def __init__(
        self,
        pack_dir: Path,
        *,
        project: str,
        stack: str,
        config: Mapping[str, str] | None = None,
        secret_keys: Sequence[str] = (),
        organization: str = "organization",
        dry_run: bool = True,
        startup_timeout_s: float = 60.0,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise ConfigError(f"policy pack {self.pack_dir}: no PulumiPolicy.yaml; pass a policy pack directory")
        self.project = project
        self.stack = stack
        self.config = dict(config or {})
        self.secret_keys = tuple(secret_keys)
        self.organization = organization
        self.dry_run = dry_run
        self.startup_timeout_s = startup_timeout_s
        self.version = self._pack_yaml_version()
        self._proc: subprocess.Popen[bytes] | None = None
        self._engine = _Engine()
        self._engine_server: grpc.Server | None = None
        self._engine_address = ""
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self._stderr: list[bytes] = []
        self._stdout_tail: list[bytes] = []
        self._info: PackInfo | None = None
        self._remediates = False

    def _pack_yaml_version(self) -> str:
        data = load_yaml_file(self.pack_dir / "PulumiPolicy.yaml", "policy pack file") or {}
        version = data.get("version") if isinstance(data, dict) else None
        return str(version) if version is not None else ""

    # -- process lifecycle -------------------------------------------------------------------------

    @property
    def engine_messages(self) -> list[str]:
        """Log lines the pack sent to the engine address (normally none)."""
        return list(self._engine.messages)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.config:
            env["PULUMI_CONFIG"] = json.dumps(self.config, separators=(",", ":"))
        if self.secret_keys:
            env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(self.secret_keys))
        env["PULUMI_ORGANIZATION"] = self.organization
        env["PULUMI_PROJECT"] = self.project
        env["PULUMI_STACK"] = self.stack
        env["PULUMI_DRY_RUN"] = "true" if self.dry_run else "false"
        return env

    def start(self) -> None:
        """Launch the pack process (does not wait for it to serve)."""
        if self._proc is not None:
            return
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._engine_server = server
        self._engine_address = f"127.0.0.1:{port}"
        # The CLI passes runtime options (`-virtualenv=venv`) to its shim, which consumes them; python gets two args.
        argv = [_pack_python(self.pack_dir), "-u", "-m", "pulumi.policy", self._engine_address, "."]
        self._proc = subprocess.Popen(
            argv,
            cwd=self.pack_dir,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # Drain stderr from the start: a chatty pack must never block on a full pipe while we run the preview.
        threading.Thread(target=self._drain, args=(self._proc.stderr, self._stderr), daemon=True).start()

    def _drain(self, stream: Any, sink: list[bytes]) -> None:
        for line in iter(stream.readline, b""):
            sink.append(line)
            del sink[:-200]

    def _failure(self, what: str) -> ConfigError:
        err = b"".join(self._stderr[-30:]).decode("utf-8", "replace").strip()
        detail = f":\n{err}" if err else ""
        return ConfigError(f"policy pack {self.pack_dir.name} ({self.pack_dir}) {what}{detail}")

    def wait_ready(self) -> None:
        """Read the port the pack prints, connect, and handshake; `ConfigError` when the pack fails to start."""
        if self._stub is not None:
            return
        self.start()
        proc = self._proc
        assert proc is not None and proc.stdout is not None and proc.stderr is not None
        first: list[bytes] = []
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.startup_timeout_s)
        if not first:
            self.close()
            raise self._failure(f"printed no port within {self.startup_timeout_s:.0f} s")
        line = first[0].decode("utf-8", "replace").strip()
        if not line.isdigit():
            if not line:
                # EOF on stdout: the pack died; let stderr finish draining for the message.
                proc.wait(timeout=5)
                time.sleep(0.05)
            self.close()
            shown = f"printed {line!r} instead of its port" if line else "exited before printing its port"
            raise self._failure(shown)
        threading.Thread(target=self._drain, args=(proc.stdout, self._stdout_tail), daemon=True).start()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{line}", options=_CHANNEL_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout_s)
        except grpc.FutureTimeoutError:
            self.close()
            raise self._failure("did not accept a connection on its port") from None
        self._handshake()

    def _call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            self.wait_ready()
        assert self._stub is not None
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as exc:
            code = exc.code() if hasattr(exc, "code") else None
            if code == grpc.StatusCode.UNIMPLEMENTED and method in ("Handshake", "ConfigureStack", "AnalyzeStack"):
                # The CLI tolerates packs that predate these calls.
                return None
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise self._failure(f"failed in {method}: {details}") from None

    def _handshake(self) -> None:
        req = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=self._engine_address,
            root_directory=str(self.pack_dir),
            program_directory=str(self.pack_dir),
        )
        self._call("Handshake", req)

    def close(self) -> None:
        """Stop the pack process and the channel; safe to call more than once."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._engine_server is not None:
            self._engine_server.stop(0)
            self._engine_server = None

    def __enter__(self) -> PolicyPackProcess:
        self.wait_ready()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- analyzer protocol -------------------------------------------------------------------------

    def get_info(self) -> PackInfo:
        """`GetAnalyzerInfo`, with the version from `PulumiPolicy.yaml` winning as in the CLI."""
        resp = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        policies = []
        for p in resp.policies:
            schema: dict[str, Any] | None = None
            required: tuple[str, ...] = ()
            if resp.supportsConfig:
                schema = json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {}
                required = tuple(p.configSchema.required) if p.HasField("configSchema") else ()
                schema["enforcementLevel"] = {"type": "string", "enum": list(ENFORCEMENT_LEVELS)}
            policies.append(
                PolicyInfo(
                    name=p.name,
                    description=p.description,
                    enforcement=_LEVEL_NAMES.get(p.enforcementLevel, "advisory"),
                    config_schema=schema,
                    config_required=required,
                )
            )
        initial: dict[str, PolicyConfigEntry] = {}
        for key, cfg in resp.initialConfig.items():
            initial[key] = PolicyConfigEntry(
                enforcement=_LEVEL_NAMES.get(cfg.enforcementLevel, "advisory"),
                properties=json_format.MessageToDict(cfg.properties) or None,
            )
        self._info = PackInfo(
            name=resp.name,
            version=self.version or resp.version,
            supports_config=resp.supportsConfig,
            policies=tuple(sorted(policies, key=lambda p: p.name)),
            initial_config=initial,
        )
        return self._info

    def configure_stack(
        self,
        stack: str | None = None,
        project: str | None = None,
        config: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """`ConfigureStack`; values default to those the process was started with."""
        req = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack or self.stack,
            project=project or self.project,
            organization=self.organization,
            dry_run=self.dry_run,
            config=dict(self.config if config is None else config),
            config_secret_keys=list(self.secret_keys),
            tags=dict(tags or {}),
        )
        self._call("ConfigureStack", req)

    def configure(
        self, policy_config: Mapping[str, PolicyConfigEntry] | None = None
    ) -> dict[str, PolicyConfigEntry]:
        """Reconcile `policy_config` with the pack's defaults as the CLI does, send it, return what was sent."""
        info = self._info or self.get_info()
        reconciled = reconcile_policy_config(info.name, info.policies, info.initial_config, policy_config or {})
        self._remediates = any(e.enforcement == "remediate" for e in reconciled.values())
        req = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, entry in reconciled.items():
            cfg = analyzer_pb2.PolicyConfig(enforcementLevel=_LEVEL_CODES[entry.enforcement or "advisory"])
            if entry.properties:
                cfg.properties.update({k: to_wire(v) for k, v in entry.properties.items()})
            req.policyConfig[name].CopyFrom(cfg)
        if reconciled:
            self._call("Configure", req)
        return reconciled

    def _diagnostics(self, resp: Any) -> list[Diagnostic]:
        if resp is None:
            return []
        return [
            Diagnostic(
                policy=d.policyName,
                pack=d.policyPackName,
                pack_version=self.version or d.policyPackVersion,
                enforcement=_LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
                urn=d.urn,
                message=d.message,
                description=d.description,
            )
            for d in resp.diagnostics
        ]

    def remediate(self, resource: AnalyzerResource) -> AnalyzerResource:
        """Apply the pack's remediations (only called when a policy runs at `remediate`)."""
        resp = self._call("Remediate", resource.to_request())
        if resp is None:
            return resource
        props: Mapping[str, Any] = resource.properties
        for r in resp.remediations:
            if r.HasField("properties"):
                props = json_format.MessageToDict(r.properties)
        if props is resource.properties:
            return resource
        return AnalyzerResource(**{**resource.__dict__, "properties": props})

    def analyze(self, resource: AnalyzerResource) -> list[Diagnostic]:
        """`Analyze` one resource; a violation without its own URN is attributed to the resource, as the CLI does."""
        if self._remediates:
            resource = self.remediate(resource)
        diags = self._diagnostics(self._call("Analyze", resource.to_request()))
        return [d if d.urn else Diagnostic(**{**d.__dict__, "urn": resource.urn}) for d in diags]

    def analyze_stack(self, resources: Sequence[AnalyzerResource]) -> list[Diagnostic]:
        req = analyzer_pb2.AnalyzeStackRequest(resources=[r.to_stack_resource() for r in resources])
        return self._diagnostics(self._call("AnalyzeStack", req))


def wait_all(packs: Sequence[PolicyPackProcess], timeout_s: float = 60.0) -> None:
    """Wait for several started packs; they boot in parallel, so the wait is the slowest one."""
    deadline = time.monotonic() + timeout_s
    for pack in packs:
        pack.startup_timeout_s = max(1.0, deadline - time.monotonic())
        pack.wait_ready()
