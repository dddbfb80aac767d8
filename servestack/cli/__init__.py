"""The `servestack` command line: the only place that prints, reads the terminal or exits.

Each verb lives in its own module exposing `add_parser(subparsers)`; the parser stores the verb's
`run(args) -> int` as `args.func`. Exit codes: 0 ok, 1 policy/feasibility failure, 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from servestack import __version__
from servestack.errors import ServestackError

__all__ = ["main", "build_parser"]

# Verb modules, imported lazily by name so `plan` never pays for `preview`'s Pulumi imports.
_VERBS = ("plan", "estimate", "catalog", "preview", "check", "cost", "verify", "preflight", "dashboard", "new")

# Top-level modules that come with the `pulumi` extra (pulumi-policy brings grpc and protobuf).
_PULUMI_EXTRAS = frozenset(
    {"pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_kubernetes", "pulumi_policy", "grpc", "google"}
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="servestack",
        description="Plan, deploy and police the cheapest cloud GPU stack for a model-serving workload.",
    )
    parser.add_argument("--version", action="version", version=f"servestack {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    for verb in _VERBS:
        importlib.import_module(f"servestack.cli.{verb}_cmd").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except ServestackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        # preview/check/cost need the optional Pulumi extras; say how to get them instead of a traceback.
        root = (exc.name or "").split(".")[0]
        if root not in _PULUMI_EXTRAS:
            raise
        print(
            f"error: servestack {args.verb} needs the Pulumi SDKs (module {exc.name!r} is missing); "
            "install them with: pip install 'servestack[pulumi]'",
            file=sys.stderr,
        )
        return 2
    # The last line of defence: every reader of user files refuses bad input with a ServestackError first.
    # These name what they can instead of printing a traceback.
    except RecursionError:
        print("error: the input is nested too deeply to process; simplify it", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"error: an input file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8",
              file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `servestack ... | head` closed the pipe: not an error of ours. Point stdout at devnull so the
        # interpreter's final flush does not raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
