"""Running a Pulumi Python program offline, in its own process, against an engine served by this one.

The process model is the Pulumi CLI's: this process plays the engine (`monitor.OfflineEngine` serves the
ResourceMonitor and Engine gRPC services, with `PreviewMocks` in place of the providers) and starts the
program in a child process (`program_host`, the language host's role) that connects to it like any Pulumi
program. The graph is what arrived over gRPC, so a program cannot patch the checker, forge its result, or
write into its output: the child's stdout and stderr are captured and shown only as notes.

The run fails closed: a program that exits before the root stack finished (`os._exit`, `sys.exit`), crashes,
is killed, or outlives `timeout_s` (its whole process group is killed) is a `ProgramError` (exit 1).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from servestack.errors import CatalogError, ConfigError, InfeasibleError, ServestackError, SpecError
from servestack.preview.model import PreviewResource, PreviewResult, ProgramError
from servestack.preview.project import ProjectInfo, StackConfig, load_project, load_stack_config, resolve_stack
from servestack.preview.wire import masked, plain

if TYPE_CHECKING:
    from servestack.costing import CostReport
    from servestack.preview.monitor import Registration

__all__ = ["run_preview", "mask_secrets", "DEFAULT_TIMEOUT_S"]

DEFAULT_TIMEOUT_S = 300.0
"""How long a program may run before the check fails (`--timeout`)."""

_HOST = Path(__file__).with_name("program_host.py")
_OUTPUT_LINES = 200  # of the program's stdout/stderr kept for the notes
_LINE_CHARS = 2000


def mask_secrets(value: Any) -> Any:
    """Plain JSON data from received properties: secrets become "[secret]" (see `servestack.preview.wire`)."""
    return masked(value)


@dataclass
class _Captured:
    """The tail of what the program printed on one stream."""

    lines: list[str] = field(default_factory=list)
    dropped: int = 0

    def drain(self, stream: IO[bytes]) -> None:
        # Bounded reads: a program that prints one endless line must not fill the checker's memory.
        for raw in iter(lambda: stream.readline(_LINE_CHARS * 4), b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(text[:_LINE_CHARS])
            if len(self.lines) > _OUTPUT_LINES:
                del self.lines[0]
                self.dropped += 1
        stream.close()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the program and anything it started in its process group (a no-op once all are gone)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _servestack_error(status: dict[str, Any], message: str) -> ServestackError:
    """A servestack error the program raised, rebuilt here by class name (known classes only)."""
    err: ServestackError
    if {"field", "value", "allowed"} <= set(status):
        # Built without __init__: `value` arrives as its repr, and the message must stay the program's own.
        err = SpecError.__new__(SpecError)
        err.field, err.value, err.allowed = str(status["field"]), status["value"], str(status["allowed"])
    else:
        known = {c.__name__: c for c in (ConfigError, CatalogError, InfeasibleError)}
        err = known.get(str(status.get("type")), ServestackError).__new__(known.get(str(status.get("type")),
                                                                                   ServestackError))
    Exception.__init__(err, message)
    # The program chooses its own error class; it never chooses a passing exit code.
    code = status.get("exit_code")
    err.exit_code = code if code in (1, 2) else 1
    return err


def _translate(status: dict[str, Any], project: ProjectInfo, stack_cfg: StackConfig) -> ServestackError:
    """The program's reported failure as the error the CLI shows (config problems are exit 2)."""
    where = str(stack_cfg.path) if stack_cfg.path else f"stack {stack_cfg.stack}"
    kind = status.get("kind")
    message = str(status.get("message", ""))[:_LINE_CHARS]
    if kind == "config-missing":
        key = str(status.get("key"))
        return ConfigError(
            f"{key}: required configuration value is missing from {where}; "
            f"set it there (or with `pulumi config set {key} VALUE -s {stack_cfg.stack}`)"
        )
    if kind == "config-type":
        return SpecError(str(status.get("key")), status.get("value"), f"the program expects a {status.get('expect')} "
                         f"(set in {where})")
    if kind == "servestack":
        return _servestack_error(status, message)
    if "does not support transforms" in message:
        message += (" (the offline engine does not run transforms, which run inside the engine under the real "
                    "CLI; judging the program without them would judge something else)")
    return ProgramError(
        f"the Pulumi program {project.main} failed: {status.get('type', 'Error')}: {message} "
        "(set SERVESTACK_DEBUG=1 for the traceback)",
        str(status.get("traceback", "")),
    )


def _host_command() -> list[str]:
    """The interpreter command for `program_host.py` with nothing of the host's own directory on `sys.path`."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-u", str(_HOST)]
    # Python 3.10 has no -P: drop the '' entry -c puts first, then run the host file as __main__.
    code = f"import runpy, sys; del sys.path[0]; runpy.run_path({str(_HOST)!r}, run_name='__main__')"
    return [sys.executable, "-u", "-c", code]


def _program_env(project: ProjectInfo, stack_cfg: StackConfig) -> dict[str, str]:
    """The environment the Pulumi CLI gives a program: its config, project, stack and engine addresses."""
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("PULUMI_CONFIG")]:
        del env[key]
    env["PULUMI_CONFIG"] = json.dumps(dict(stack_cfg.values), separators=(",", ":"))
    env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(sorted(stack_cfg.secret_keys))
    env["PULUMI_PROJECT"] = project.name
    env["PULUMI_STACK"] = stack_cfg.stack
    env["PULUMI_ORGANIZATION"] = "organization"
    env["PULUMI_DRY_RUN"] = "false"
    env["PULUMI_ROOT_DIRECTORY"] = str(project.directory)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_program(
    project: ProjectInfo, stack_cfg: StackConfig, timeout_s: float
) -> tuple[Any, dict[str, Any] | None, int, list[str]]:
    """Serve the engine, run the program to completion in its own process group, return what the engine saw.

    Returns the engine, the program's status report (None when it sent none), its exit code and its output.
    """
    status_read, status_write = os.pipe()
    argv = [
        *_host_command(),
        "--project", project.name, "--stack", stack_cfg.stack,
        "--root-directory", str(project.directory),
        "--status-fd", str(status_write),
        str(project.main),
    ]
    out, err = _Captured(), _Captured()
    status_raw: list[bytes] = []
    try:
        # Started before the engine serves: the program's interpreter imports the SDK meanwhile and reads the
        # engine's address from stdin (then sees stdin closed, as under the CLI).
        proc = subprocess.Popen(
            argv,
            cwd=project.directory,
            env=_program_env(project, stack_cfg),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(status_write,),
            start_new_session=True,  # its own process group, so a hung program is killed with its children
        )
    except OSError as exc:
        os.close(status_read)
        os.close(status_write)
        raise ProgramError(f"the Pulumi program {project.main} could not be started: {exc}") from None
    os.close(status_write)

    try:
        from servestack.preview.mocks import PreviewMocks
        from servestack.preview.monitor import OfflineEngine, serve

        engine = OfflineEngine(project.name, stack_cfg.stack, PreviewMocks(config=dict(stack_cfg.values)),
                               project.directory)
        server, address = serve(engine)
    except BaseException:
        _kill_group(proc)  # never leave a started program behind
        os.close(status_read)
        raise
    assert proc.stdin is not None
    with contextlib.suppress(OSError):  # a program that already died is reported below
        proc.stdin.write(f"{address}\n".encode())
        proc.stdin.close()

    def read_status() -> None:
        with os.fdopen(status_read, "rb") as stream:
            status_raw.append(stream.read(1024 * 1024))

    readers = [
        threading.Thread(target=out.drain, args=(proc.stdout,), daemon=True),
        threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True),
        threading.Thread(target=read_status, daemon=True),
    ]
    for t in readers:
        t.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        # From here on the record is final: late calls from anything the program left behind are refused.
        engine.close()
        _kill_group(proc)
        server.stop(0)
    for t in readers:
        t.join(timeout=5)
    output = [f"stdout: {ln}" for ln in out.lines] + [f"stderr: {ln}" for ln in err.lines]
    if out.dropped or err.dropped:
        output.insert(0, f"({out.dropped + err.dropped} earlier lines of program output not shown)")
    if timed_out:
        raise ProgramError(
            f"the Pulumi program {project.main} did not finish within {timeout_s:g} s and was killed "
            "(raise --timeout if it legitimately needs longer)"
        )
    status: dict[str, Any] | None = None
    text = b"".join(status_raw).decode("utf-8", "replace").strip()
    if text:
        try:
            loaded = json.loads(text.splitlines()[0])
            status = loaded if isinstance(loaded, dict) else None
        except ValueError:
            status = None
    return engine, status, int(proc.returncode), output


def _program_failure(
    status: dict[str, Any] | None, code: int, project: ProjectInfo, stack_cfg: StackConfig, output: list[str]
) -> ServestackError | None:
    """Why the run does not count, or None when the program ran to its end and exited 0."""
    if status is not None and status.get("status") == "error":
        return _translate(status, project, stack_cfg)
    tail = "; last output: " + " | ".join(output[-3:]) if output else ""
    if status is not None and status.get("status") == "exit":
        return ProgramError(
            f"the Pulumi program {project.main} called sys.exit({status.get('code')!r}) before it finished; "
            f"a program must return normally for its resources to be judged{tail}"
        )
    if status is None or status.get("status") != "ok":
        how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        return ProgramError(
            f"the Pulumi program {project.main} {how} before it finished (no completion report); "
            f"its resources cannot be judged{tail}"
        )
    if code != 0:
        return ProgramError(f"the Pulumi program {project.main} reported success but exited with code {code}{tail}")
    return None


def _to_resource(reg: Registration) -> PreviewResource:
    return PreviewResource(
        urn=reg.urn,
        type=reg.type,
        name=reg.name,
        parent=reg.parent,
        custom=reg.custom,
        provider=reg.provider,
        dependencies=tuple(sorted(set(reg.dependencies))),
        inputs=masked(reg.inputs),
        options=masked(reg.options),
        wire_inputs=reg.inputs,
    )


def _tree_order(resources: list[PreviewResource]) -> list[PreviewResource]:
    """Parents before children, siblings by URN: registration order depends on thread timing."""
    children: dict[str | None, list[PreviewResource]] = {}
    known = {r.urn for r in resources}
    for r in resources:
        parent = r.parent if r.parent in known else None
        children.setdefault(parent, []).append(r)
    ordered: list[PreviewResource] = []

    def visit(parent: str | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: r.urn):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return ordered


def _price(resources: list[PreviewResource], stack_cfg: StackConfig) -> tuple[CostReport, list[str]]:
    """The graph priced by `servestack.costing` from the bundled catalog, and a note per unpriced item.

    Priced from the unmasked inputs: a secret instance type costs what it costs, as the budget pack sees it.
    """
    from dataclasses import replace

    from servestack.costing import cost_resources

    unmasked = [replace(r, inputs=plain(r.wire_inputs)) if r.wire_inputs is not None else r for r in resources]
    report = cost_resources(unmasked, stack_config=stack_cfg.values)
    notes = [
        f"not priced: {line.name} ({line.type}) {line.item}: {line.unknown_reason}"
        for line in report.unknowns
    ]
    return report, notes


def run_preview(project_dir: Path, stack: str | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> PreviewResult:
    """Run the Pulumi Python program in `project_dir` for `stack` offline and return its resource graph.

    Raises `ConfigError` (exit 2) for a missing project/stack file or a missing/invalid config value,
    `ProgramError` (exit 1) when the program fails, exits early or overruns `timeout_s`, and passes through
    a `ServestackError` the program raises (never with exit code 0).
    """
    project = load_project(Path(project_dir))
    stack_name = resolve_stack(project, stack)
    stack_cfg = load_stack_config(project, stack_name)
    engine, status, code, output = _run_program(project, stack_cfg, timeout_s)
    failure = _program_failure(status, code, project, stack_cfg, output)
    if failure is not None:
        raise failure
    logged_errors = [message for level, message in engine.log if level == "error"]
    if logged_errors:
        # A program that logs an error fails `pulumi preview`/`up` even when it returns normally.
        raise ProgramError(f"the Pulumi program {project.directory} logged an error: {logged_errors[0]}")

    stack_urn = engine.stack_urn or (
        f"urn:pulumi:{stack_name}::{project.name}::pulumi:pulumi:Stack::{project.name}-{stack_name}"
    )
    resources = _tree_order([_to_resource(r) for r in engine.registrations])
    report, notes = _price(resources, stack_cfg)
    notes = [f"program {level}: {message}" for level, message in engine.log if level != "debug"] + notes
    unevaluated = sorted((u.to_json() for u in engine.unevaluated), key=lambda u: (u["urn"], u["type"]))
    return PreviewResult(
        project=project.name,
        stack=stack_name,
        config=dict(stack_cfg.raw),
        outputs=masked(engine.outputs),
        resources=resources,
        stack_urn=stack_urn,
        monthly_usd_expected=round(report.expected, 2),
        monthly_usd_ceiling=round(report.ceiling, 2),
        notes=notes,
        costs=report,
        unevaluated=unevaluated,
        program_output=output,
    )
