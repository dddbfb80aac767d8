"""Every shell and Python block of README.md, docs/*.md, examples/*/README.md and benchmarks/README.md runs,
or, when marked `no-run`, names only flags, stack-config keys and files that exist. The marker convention is in
tests/docs/doc_blocks.py and docs/README.md.

How blocks run:
- shell (```sh/```bash): `bash -eo pipefail` in a fresh copy of the repository (so `--write` never touches the
  checkout), with the running interpreter's `servestack` first on PATH;
- console (```console): each `$ ` command the same way; the shown output is not compared (its numbers move);
- Python: in a fresh interpreter, cwd a fresh copy of the repository, after the file's earlier Python blocks;
- Python marked `pulumi-program`: as the `__main__.py` of a throwaway Pulumi project under `servestack preview`
  (the offline engine: no Pulumi CLI, no credentials).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.doc_blocks import Block, blocks_of, console_commands, console_labels, python_prelude, shell_commands

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [
    Path("README.md"),
    *sorted(p.relative_to(ROOT) for p in (ROOT / "docs").glob("*.md")),
    *sorted(p.relative_to(ROOT) for p in (ROOT / "examples").glob("*/README.md")),
    Path("benchmarks/README.md"),
]
BLOCKS = {path: blocks_of(path, (ROOT / path).read_text(encoding="utf-8")) for path in DOC_FILES}
ALL = [b for blocks in BLOCKS.values() for b in blocks]
RUNNABLE = [b for b in ALL if b.runs]
STATIC = [b for b in ALL if b.lang in ("sh", "console", "python")]
BIN = Path(sys.executable).parent
TIMEOUT_S = 180
# A copy of the repository holds what the docs name; caches, tests and VCS data are left out.
_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "tests", "__pycache__", ".*_cache", "*.egg-info", "build")
# Top-level entries a path in the docs may start with (checked to exist).
TOP_LEVEL = sorted(p.name for p in ROOT.iterdir() if not p.name.startswith(".") or p.name in (".github", ".ci"))


def _ids(blocks: list[Block]) -> list[str]:
    return [b.where for b in blocks]


@pytest.fixture(scope="session")
def cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One XDG cache for every block: the compiled catalog and the generated packs are built once."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT, copy, ignore=_NOT_COPIED)
    return copy


def _env(cache_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)  # this checkout's servestack, also in subprocesses
    env["XDG_CACHE_HOME"] = str(cache_home)
    env.pop("SERVESTACK_DEBUG", None)
    return env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _failure(block: Block, what: str, proc: subprocess.CompletedProcess[str], want: int) -> str:
    def tail(text: str) -> str:
        return "\n".join(text.strip().splitlines()[-25:])

    return (f"{block.where}: {what!r} exited {proc.returncode}, expected {want}\n"
            f"--- stdout ---\n{tail(proc.stdout)}\n--- stderr ---\n{tail(proc.stderr)}")


# --------------------------------------------------------------------------------------------- running blocks


@pytest.mark.parametrize("block", RUNNABLE, ids=_ids(RUNNABLE))
def test_block_runs(block: Block, repo_copy: Path, cache_home: Path, tmp_path: Path) -> None:
    env = _env(cache_home)
    needs = block.marker("needs")
    missing = [tool for tool in (needs.arg.split() if needs else []) if shutil.which(tool, path=env["PATH"]) is None]
    if missing:
        pytest.skip(f"{block.where} needs {', '.join(missing)}, which is not on PATH")
    want = block.expected_exit
    if block.lang == "sh":
        proc = _run(["bash", "-eo", "pipefail", "-c", block.code], repo_copy, env)
        assert proc.returncode == want, _failure(block, block.code.strip(), proc, want)
    elif block.lang == "console":
        commands = console_commands(block.code)
        assert commands, f"{block.where}: a console block runs its `$ ` lines and has none"
        for number, command in enumerate(commands, 1):
            expected = want if number == len(commands) else 0  # `exit N` is the last command's status
            proc = _run(["bash", "-o", "pipefail", "-c", command], repo_copy, env)
            assert proc.returncode == expected, _failure(block, command, proc, expected)
        # The shown output is not compared (its numbers move), but its labelled lines (`chosen:`, `error:`)
        # must be lines the commands print.
        printed = {line.split(":", 1)[0].strip() for line in (proc.stdout + proc.stderr).splitlines() if ":" in line}
        missing = [label for label in console_labels(block.code) if label not in printed]
        assert not missing, f"{block.where}: the shown output has lines {missing} the commands do not print"
    elif block.has("pulumi-program"):
        _run_pulumi_program(block, tmp_path / "program", env)
    else:
        prelude = python_prelude(BLOCKS[block.path], block)
        script = tmp_path / "doc_block.py"
        script.write_text("".join(f"# {b.where}\n{b.code}" for b in [*prelude, block]))
        proc = _run([sys.executable, str(script)], repo_copy, env)
        assert proc.returncode == want, _failure(block, "python", proc, want)


def _run_pulumi_program(block: Block, project: Path, env: dict[str, str]) -> None:
    project.mkdir()
    prelude = python_prelude(BLOCKS[block.path], block)
    (project / "__main__.py").write_text("".join(b.code for b in [*prelude, block]))
    (project / "Pulumi.yaml").write_text("name: docs-example\nruntime: python\n")
    config = {"aws:region": "us-east-1"}
    marker = block.marker("config")
    for pair in (marker.arg.split() if marker is not None else []):
        key, _, value = pair.partition("=")
        config[key] = value
    (project / "Pulumi.docs.yaml").write_text(
        "config:\n" + "".join(f"  {k}: {shlex.quote(v)}\n" for k, v in config.items())
    )
    proc = _run([str(BIN / "servestack"), "preview", "-C", str(project), "-s", "docs", "--json"], project, env)
    assert proc.returncode == block.expected_exit, _failure(block, "servestack preview (pulumi-program)", proc,
                                                            block.expected_exit)


# --------------------------------------------------------------------------------------------- static checks


def _servestack_invocations(code: str) -> Iterator[list[str]]:
    """The argument lists of every `servestack ...` command in a shell text (pipes, &&, ;, $( ) split)."""
    for line in shell_commands(code):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote in an example: nothing to check on that line
            continue
        current: list[str] | None = None
        for token in [*tokens, ";"]:
            if token in ("&&", "||", "|", ";", "&", "(", ")", ">", ">>", "<"):
                if current is not None:
                    yield current
                current = None
                continue
            word = token.removeprefix("$(")
            if current is None and (word == "servestack" or word.endswith("/servestack")):
                current = []
            elif current is not None:
                current.append(token)


def _parse_error(argv: list[str]) -> str | None:
    """What `servestack`'s own argument parser says about argv, or None when it accepts it."""
    from servestack.cli import build_parser

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return stderr.getvalue().strip().splitlines()[-1]
    return None


def _stack_keys() -> set[str]:
    """Every `servestack:<key>` the program reads (servestack.components.config) or plan --write records."""
    from servestack.components import config

    return set(config._KEYS) | set(config._OTHER_KEYS)


RETIRED_KEYS = {"servedModel", "publicEndpointCidrs"}
"""Stack keys of earlier releases that docs name as retired (the program refuses them as unknown keys;
tests/docs/test_claims.py checks that)."""
_KEY = re.compile(r"(?<![\w-])servestack:(?!index:)([A-Za-z][A-Za-z0-9]*)")
_PLACEHOLDER = re.compile(r"[<>*{}$]|\b[A-Z][A-Z_]{2,}\b|\.\.\.")


def _paths_named(text: str) -> list[str]:
    """Repository paths a text names (`examples/chat-70b.yaml`, `stacks/Pulumi.prod.yaml`); placeholders
    (`Pulumi.<env>.yaml`, `FILE`) and globs are left out."""
    found = []
    for token in re.findall(r"[\w./-]+", text):
        token = token.rstrip(".,:;")
        head = token.split("/", 1)[0]
        # A file (with an extension) or a directory (trailing slash) under a top-level entry; a bare
        # `servestack/hf-token` is more often a secret's name than a path.
        file_like = "." in token.rsplit("/", 1)[-1] or token.endswith("/")
        under_top_level = "/" in token and head in TOP_LEVEL and file_like and not _PLACEHOLDER.search(token)
        top_level_file = token in TOP_LEVEL and "." in token  # README.md, Pulumi.yaml, pyproject.toml
        if under_top_level or top_level_file:
            found.append(token)
    return found


def static_problems(block: Block) -> list[str]:
    """What a block names that does not exist: servestack verbs/flags, stack-config keys, repository files."""
    problems: list[str] = []
    text = block.code
    if block.lang == "console":
        text = "\n".join(console_commands(block.code))
    if block.lang in ("sh", "console"):
        for argv in _servestack_invocations(text):
            error = _parse_error(argv)
            if error is not None:
                problems.append(f"`servestack {' '.join(argv)}`: {error}")
    if block.lang == "python":
        problems += _python_problems(block)
    keys = _stack_keys()
    problems += [f"servestack:{key} is not a stack-config key servestack reads"
                 for key in _KEY.findall(text) if key not in keys and key not in RETIRED_KEYS]
    problems += [f"{path} does not exist" for path in _paths_named(text) if not (ROOT / path).exists()]
    return problems


def _python_problems(block: Block) -> list[str]:
    try:
        tree = ast.parse(block.code)
    except SyntaxError as exc:
        return [f"not valid Python: {exc.msg} (block line {exc.lineno})"]
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "servestack":
            module = importlib.import_module(node.module)
            problems += [f"{node.module} has no {alias.name}" for alias in node.names
                         if not hasattr(module, alias.name)]
    return problems


@pytest.mark.parametrize("block", STATIC, ids=_ids(STATIC))
def test_block_names_only_what_exists(block: Block) -> None:
    problems = static_problems(block)
    assert not problems, f"{block.where}:\n  " + "\n  ".join(problems)


# Inline code in the prose: `servestack VERB ... --flag` spans and headings name flags the verb has.
_INLINE = re.compile(r"`([^`\n]+)`")


def _prose_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text, inside a plain fence) of every line outside shell, Python, YAML and JSON blocks;
    plain fences (usage synopses, sample output) count as prose."""
    inside: set[int] = set()
    plain: set[int] = set()
    for b in BLOCKS[path]:
        lines = range(b.line, b.line + b.code.count("\n") + 2)
        (plain if b.lang == "" else inside).update(lines)
    for number, line in enumerate((ROOT / path).read_text(encoding="utf-8").splitlines(), 1):
        if number not in inside:
            yield number, line, number in plain


def _flags_of(argv: list[str]) -> tuple[list[str], list[str]]:
    """(verb path, flags) of a synopsis like `servestack plan SPEC [--env ENV] [--write [--force]]`."""
    from servestack.cli import build_parser

    parser = build_parser()
    verbs: list[str] = []
    for word in argv:
        sub = _subparsers(parser)
        if sub is None or word not in sub:
            break
        parser = sub[word]
        verbs.append(word)
    flags = {s for a in parser._actions for s in a.option_strings}
    named = [f.split("=")[0] for w in argv for f in re.findall(r"(?<![\w-])--?[a-zA-Z][\w-]*", w)]
    return verbs, [f for f in named if f not in flags]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def prose_problems(path: Path) -> list[str]:
    problems = []
    keys = _stack_keys()
    for number, line, in_plain_fence in _prose_lines(path):
        # A synopsis line of a plain fence (`servestack verify SPEC --endpoint URL ...`) is checked whole;
        # sample output there (`servestack preflight: stack prod`) names no verb and is left alone.
        command = line.removeprefix("$ ")
        synopsis = in_plain_fence and command.startswith("servestack ")
        spans = [command] if synopsis else _INLINE.findall(line)
        for span in spans:
            words = span.split()
            if len(words) > 1 and words[0] == "servestack":
                verbs, unknown = _flags_of(words[1:])
                if not verbs and not synopsis:
                    problems.append(f"{path}:{number}: `{span}` names no servestack verb")
                problems += [f"{path}:{number}: `servestack {' '.join(verbs)}` has no {flag}" for flag in unknown]
            problems += [f"{path}:{number}: servestack:{key} is not a stack-config key servestack reads"
                         for key in _KEY.findall(span) if key not in keys and key not in RETIRED_KEYS]
            if " " not in span.strip():
                problems += [f"{path}:{number}: {p} does not exist" for p in _paths_named(span)
                             if not (ROOT / p).exists()]
    return problems


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p) for p in DOC_FILES])
def test_prose_names_only_what_exists(path: Path) -> None:
    problems = prose_problems(path)
    assert not problems, "\n".join(problems)
