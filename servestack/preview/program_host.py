"""Run one Pulumi Python program in this process, connected to an engine over gRPC: the language host's role.

Started by `servestack.preview.engine` as `python -P -u <this file> ...`, it does what the Pulumi Python
language host's exec shim does: configure the SDK with the monitor and engine addresses, put the program's
directory first on `sys.path`, run the program inside the root stack and wait for every registration.

This file imports only the standard library and the Pulumi SDK, never servestack: it runs as a script with
`-P` (nothing prepended to `sys.path`), so a project that contains its own `servestack/` package (servestack's
own repository) runs with that code, as the Pulumi CLI would run it.

When it is done it writes one JSON line to the file descriptor `--status-fd`: `{"status": "ok"}`, or what
went wrong, for the checker's error message. The checker trusts none of it for the verdict: resources are what
reached the engine, and a program that does not exit 0 after reporting "ok" has failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import runpy
import sys
import traceback
from typing import Any

_FAILED = 32  # the language host's exit code for a program that failed


def _cause(exc: BaseException) -> BaseException:
    """The user-facing error inside SDK wrapping (`raise ... from`, exception groups)."""
    import pulumi

    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        names = {c.__name__ for c in type(current).__mro__}
        if "ServestackError" in names or isinstance(current, (pulumi.ConfigMissingError, pulumi.ConfigTypeError)):
            return current
        nested = getattr(current, "exceptions", None)
        if isinstance(nested, (list, tuple)):
            pending.extend(e for e in nested if isinstance(e, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return exc


def describe(exc: BaseException) -> dict[str, Any]:
    """A failure as plain data the checker turns into its own error."""
    import pulumi

    cause = _cause(exc)
    tb = "".join(traceback.format_exception(type(cause), cause, cause.__traceback__))
    base: dict[str, Any] = {
        "status": "error",
        "type": type(cause).__name__,
        "message": str(cause) or type(cause).__name__,
        "traceback": tb,
    }
    if isinstance(cause, pulumi.ConfigMissingError):
        base.update(kind="config-missing", key=cause.key)
    elif isinstance(cause, pulumi.ConfigTypeError):
        base.update(kind="config-type", key=cause.key, value=str(cause.value), expect=cause.expect_type)
    elif "ServestackError" in {c.__name__ for c in type(cause).__mro__}:
        base.update(kind="servestack", exit_code=getattr(cause, "exit_code", 2))
        fields = {a: getattr(cause, a) for a in ("field", "value", "allowed") if hasattr(cause, a)}
        if len(fields) == 3:
            base.update(field=str(fields["field"]), value=repr(fields["value"]), allowed=str(fields["allowed"]))
    return base


def _report(fd: int, status: dict[str, Any]) -> None:
    data = (json.dumps(status, default=str) + "\n").encode("utf-8")
    try:
        while data:
            data = data[os.write(fd, data):]
        os.close(fd)
    except OSError:
        pass  # the checker went away; nothing left to tell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Pulumi Python program against an engine.")
    parser.add_argument("--monitor", help="the engine's ResourceMonitor address (default: the first line of stdin)")
    parser.add_argument("--engine", help="the engine's Engine address (default: the monitor's)")
    parser.add_argument("--project", required=True)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--organization", default="organization")
    parser.add_argument("--root-directory", required=True)
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("program")
    args = parser.parse_args(argv)

    import pulumi
    import pulumi.runtime

    if args.monitor is None:
        # The checker starts this process before its engine listens, so the SDK imports above overlap with
        # the engine's start-up; it sends the address once it serves, then closes stdin.
        args.monitor = sys.stdin.readline().strip()
        if not args.monitor:
            sys.exit("no engine address on stdin")
    args.engine = args.engine or args.monitor
    os.environ["PULUMI_MONITOR"] = args.monitor  # as the CLI sets them, for programs that read them
    os.environ["PULUMI_ENGINE"] = args.engine

    program = os.path.abspath(args.program)
    program_dir = program if os.path.isdir(program) else os.path.dirname(program)
    os.chdir(args.root_directory)
    for path in dict.fromkeys([program_dir, args.root_directory]):
        sys.path.insert(0, path)

    pulumi.runtime.configure(
        pulumi.runtime.Settings(
            project=args.project,
            stack=args.stack,
            monitor=args.monitor,
            engine=args.engine,
            parallel=0,
            dry_run=False,  # the mock providers answer with values, so applies run as in `pulumi up`
            organization=args.organization,
            root_directory=args.root_directory,
        )
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    status: dict[str, Any]
    def run_program() -> None:
        runpy.run_path(program, run_name="__main__")

    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(run_program))
        status = {"status": "ok"}
    except SystemExit as exc:
        if exc.__cause__ is not None:
            # `raise SystemExit(code) from error`: report the error itself, as a program's own failure.
            status = describe(exc.__cause__)
        else:
            code = exc.code if isinstance(exc.code, (int, type(None))) else str(exc.code)
            status = {"status": "exit", "code": code}
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the checker
        status = describe(exc)
    sys.stdout.flush()
    sys.stderr.flush()
    _report(args.status_fd, status)
    # Skip interpreter teardown: gRPC's threads can hold it for seconds, and nothing is left to flush.
    os._exit(0 if status["status"] == "ok" else _FAILED)


if __name__ == "__main__":
    main()
