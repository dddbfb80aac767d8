"""Running a Pulumi Python program offline under the SDK's mock engine.

The program runs in this process (a subprocess would add ~1 s of interpreter start and SDK imports) but
on its own thread with a copied `contextvars` context, so the SDK's ambient state (settings, root stack,
config, event loop) of one preview never leaks into the next. Process-wide state the SDK cannot scope
(cwd, sys.path, the program's own modules in sys.modules) is restored afterwards.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import runpy
import sys
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi.runtime
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.rpc_manager import RPCManager

from servestack.errors import ConfigError, ServestackError, SpecError
from servestack.preview.mocks import PreviewMocks, RecordingMonitor, Registration
from servestack.preview.model import PreviewResource, PreviewResult, ProgramError

if TYPE_CHECKING:
    from servestack.costing import CostReport
from servestack.preview.project import (
    SECRET_PLACEHOLDER,
    ProjectInfo,
    StackConfig,
    load_project,
    load_stack_config,
    resolve_stack,
)

__all__ = ["run_preview", "mask_secrets"]

# cwd and sys.path are process-wide: previews in one process run one at a time.
_PREVIEW_LOCK = threading.Lock()


def mask_secrets(value: Any) -> Any:
    """Plain JSON data from deserialized properties: secrets become "[secret]", resources their URN."""
    if rpc.is_rpc_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        # Sorted keys: the wire format keeps no order, and stable output diffs cleanly in review.
        return {str(k): mask_secrets(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [mask_secrets(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # The wire carries every number as a double; an integral one was an int in the program.
        return int(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.Resource):
        return f"<resource {type(value).__name__}>"
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return f"<{type(value).__name__}>"
    return str(value)


@contextmanager
def _program_environment(project: ProjectInfo) -> Iterator[None]:
    """cwd, sys.path and the program's modules as the Pulumi language host sets them, restored after."""
    old_cwd = Path.cwd()
    old_path = list(sys.path)
    before = set(sys.modules)
    os.chdir(project.directory)
    sys.path.insert(0, str(project.directory))
    main_dir = project.main if project.main.is_dir() else project.main.parent
    if main_dir != project.directory:
        sys.path.insert(0, str(main_dir))
    try:
        yield
    finally:
        os.chdir(old_cwd)
        sys.path[:] = old_path
        root = str(project.directory)
        # A project's virtualenv often lives inside the project (`.venv/`): its packages are libraries,
        # not the program's modules, and dropping them would orphan classes the SDK still resolves.
        installed = (sys.prefix, sys.exec_prefix)
        for name in set(sys.modules) - before:
            if name == "servestack" or name.startswith("servestack."):
                continue
            file = getattr(sys.modules.get(name), "__file__", None) or ""
            if file.startswith(root) and not file.startswith(installed):
                del sys.modules[name]


def _find_cause(exc: BaseException) -> BaseException:
    """The user-facing error inside SDK wrapping (`raise ... from`, exception groups, RunError)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (ServestackError, pulumi.ConfigMissingError, pulumi.ConfigTypeError)):
            return current
        nested = getattr(current, "exceptions", None)
        if isinstance(nested, (list, tuple)):
            stack.extend(e for e in nested if isinstance(e, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)
    return exc


def _translate(exc: BaseException, project: ProjectInfo, stack_cfg: StackConfig) -> ServestackError:
    cause = _find_cause(exc)
    where = str(stack_cfg.path) if stack_cfg.path else f"stack {stack_cfg.stack}"
    if isinstance(cause, ServestackError):
        return cause
    if isinstance(cause, pulumi.ConfigMissingError):
        return ConfigError(
            f"{cause.key}: required configuration value is missing from {where}; "
            f"set it there (or with `pulumi config set {cause.key} VALUE -s {stack_cfg.stack}`)"
        )
    if isinstance(cause, pulumi.ConfigTypeError):
        return SpecError(cause.key, cause.value, f"the program expects a {cause.expect_type} (set in {where})")
    tb = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
    message = str(cause) or type(cause).__name__
    return ProgramError(
        f"the Pulumi program {project.main} failed: {type(cause).__name__}: {message} "
        "(set SERVESTACK_DEBUG=1 for the traceback)",
        tb,
    )


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The program's failure is reported once, by `run_preview`; the SDK's orphaned tasks need not repeat it."""
    if str(context.get("message", "")).startswith("Task exception was never retrieved"):
        return
    loop.default_exception_handler(context)


class _ProgramLog(logging.Handler):
    """Collects what the program logs through `pulumi.log` (the mock engine hands it to a logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname.lower(), record.getMessage()))


def _program_logger(handler: _ProgramLog) -> logging.Logger:
    # One logger per preview, not propagated: the program's messages become notes or the error, printed once.
    logger = logging.getLogger(f"servestack.preview.program.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.handlers = [handler]
    return logger


def _run_program(
    project: ProjectInfo,
    stack_cfg: StackConfig,
    monitor: RecordingMonitor,
    outputs_holder: dict[str, Any],
    logger: logging.Logger,
) -> None:
    """Body of the preview thread: configure the SDK's mock engine in this context and run the program."""
    # A fresh loop per thread: nothing scheduled by one preview can run during the next.
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_quiet_unretrieved)
    asyncio.set_event_loop(loop)
    pulumi_settings.ROOT.set(None)
    pulumi_settings.SETTINGS.rpc_manager = RPCManager()  # type: ignore[no-untyped-call]
    pulumi_settings.SETTINGS.outputs = set()
    pulumi_settings.SETTINGS.lock = threading.Lock()
    pulumi.runtime.set_all_config(dict(stack_cfg.values), sorted(stack_cfg.secret_keys))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project.name, stack=stack_cfg.stack, preview=False, logger=logger, monitor=monitor
    )
    # set_mocks registers the root stack and finishes it at once, so exports are read back from it here.
    root = pulumi_settings.get_root_resource()

    async def collect_outputs() -> None:
        exported = dict(getattr(root, "outputs", {}) or {})
        if not exported:
            return
        struct = await rpc.serialize_properties(exported, {})
        outputs_holder.update(rpc.deserialize_properties(struct))

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> Any:
        runpy.run_path(str(project.main), run_name="__main__")
        return collect_outputs()

    try:
        program()
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()


def _to_resource(reg: Registration) -> PreviewResource:
    return PreviewResource(
        urn=reg.urn,
        type=reg.type,
        name=reg.name,
        parent=reg.parent,
        custom=reg.custom,
        provider=reg.provider,
        dependencies=tuple(sorted(set(reg.dependencies))),
        inputs=mask_secrets(reg.inputs),
    )


def _tree_order(resources: list[PreviewResource], stack_urn: str) -> list[PreviewResource]:
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
    """The graph priced by `servestack.costing` from the bundled catalog, and a note per unpriced item."""
    from servestack.costing import cost_resources

    report = cost_resources(resources, stack_config=stack_cfg.values)
    notes = [
        f"not priced: {line.name} ({line.type}) {line.item}: {line.unknown_reason}"
        for line in report.unknowns
    ]
    return report, notes


def run_preview(project_dir: Path, stack: str | None = None) -> PreviewResult:
    """Run the Pulumi Python program in `project_dir` for `stack` offline and return its resource graph.

    Raises `ConfigError` (exit 2) for a missing project/stack file or a missing/invalid config value,
    `ProgramError` (exit 1) when the program itself fails, and passes through any `ServestackError`
    the program raises.
    """
    project = load_project(Path(project_dir))
    stack_name = resolve_stack(project, stack)
    stack_cfg = load_stack_config(project, stack_name)
    mocks = PreviewMocks(config=dict(stack_cfg.values))
    monitor = RecordingMonitor(mocks)
    outputs: dict[str, Any] = {}
    failure: list[BaseException] = []
    context = contextvars.copy_context()
    program_log = _ProgramLog()
    logger = _program_logger(program_log)

    def worker() -> None:
        try:
            context.run(_run_program, project, stack_cfg, monitor, outputs, logger)
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            failure.append(exc)

    with _PREVIEW_LOCK, _program_environment(project):
        thread = threading.Thread(target=worker, name=f"servestack-preview-{stack_name}", daemon=True)
        thread.start()
        thread.join()
    if failure:
        exc = failure[0]
        if isinstance(exc, KeyboardInterrupt):
            raise exc
        raise _translate(exc, project, stack_cfg) from None
    logged_errors = [message for level, message in program_log.records if level == "error"]
    if logged_errors:
        # A program that logs an error fails `pulumi preview`/`up` even when it returns normally.
        raise ProgramError(f"the Pulumi program {project.directory} logged an error: {logged_errors[0]}")

    stack_urn = monitor.stack_urn or (
        f"urn:pulumi:{stack_name}::{project.name}::pulumi:pulumi:Stack::{project.name}-{stack_name}"
    )
    resources = _tree_order([_to_resource(r) for r in monitor.registrations], stack_urn)
    report, notes = _price(resources, stack_cfg)
    notes = [f"program {level}: {message}" for level, message in program_log.records] + notes
    return PreviewResult(
        project=project.name,
        stack=stack_name,
        config={k: v for k, v in stack_cfg.raw.items()},
        outputs=mask_secrets(outputs),
        resources=resources,
        stack_urn=stack_urn,
        monthly_usd_expected=round(report.expected, 2),
        monthly_usd_ceiling=round(report.ceiling, 2),
        notes=notes,
        costs=report,
    )
