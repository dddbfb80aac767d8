"""The one way servestack reads a user's YAML or JSON file, safe against hostile input.

Every file a person (or a pull request) controls goes through here: workload specs, `Pulumi.yaml`, stack
files `Pulumi.<stack>.yaml`, policy config, `PulumiPolicy.yaml`. What is refused, with a message that
names the file and the line (`InputFileError`, exit 2), instead of a traceback or a hang:

- files that are not UTF-8 text, that are larger than `MAX_FILE_BYTES` (a spec is a few KiB; `/dev/zero`
  would never end), or that are not regular files;
- nesting deeper than `MAX_DEPTH` (Python's recursion limit turns ~1,000 levels into a RecursionError,
  and the YAML scanner slows down quadratically with the depth of `[[[...`);
- anchors and aliases that expand past `MAX_NODES` (an "alias bomb" of a few hundred bytes expands to
  billions of values when the stack config is serialised), and aliases that refer to themselves;
- a mapping key given twice (YAML says keys are unique; "last one wins" would hide a typo).

YAML is read as YAML 1.2 (the Pulumi CLI's dialect: `on`/`yes` stay strings), by ruamel.yaml's pure-Python
safe loader, so no tag can construct Python objects. Writing: `write_text_atomically` replaces a file
under a lock through a unique temporary file, so concurrent writers never leave a torn or mixed file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import Scanner

from servestack.errors import InputFileError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "read_user_text",
    "parse_yaml",
    "load_yaml_file",
    "parse_json",
    "write_text_atomically",
]

MAX_FILE_BYTES = 4 * 1024 * 1024
"""Largest file read. Specs, stack files and policy config are a few KiB."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists (counting what aliases expand to). Real files stay under 10."""

MAX_NODES = 100_000
"""Most values a document may hold once every alias is expanded."""


def read_user_text(path: Path | str, what: str) -> str:
    """The text of a user's file; `InputFileError` naming it when it cannot be read as UTF-8 text."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InputFileError(what, p, "the file does not exist") from None
    except IsADirectoryError:
        raise InputFileError(what, p, "is a directory; give the path of a file") from None
    except NotADirectoryError:
        raise InputFileError(what, p, "a parent of this path is a file, not a directory") from None
    except PermissionError:
        raise InputFileError(what, p, "permission denied; make the file readable") from None
    except OSError as exc:
        raise InputFileError(what, p, f"cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputFileError(what, p, f"is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; is it the right file?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            what, p, f"is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8", line=line
        ) from None
    return text.removeprefix("\ufeff")


class _FlowDepthScanner(Scanner):
    """ruamel's scanner, refusing `[`/`{` nested deeper than `MAX_DEPTH`.

    The composer's own `max_depth` comes too late for flow collections: before the first event the
    scanner looks ahead up to 1,024 characters per open bracket, so `[[[[...` costs seconds at any depth.
    """

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:  # noqa: N803 (ruamel's name)
        if self.flow_level >= MAX_DEPTH:
            raise _TooDeepError(None, None, "too deep", self.reader.get_mark())
        super().fetch_flow_collection_start(TokenClass, to_push)


class _TooDeepError(MarkedYAMLError):
    """Raised by `_FlowDepthScanner`; reported like the composer's own MaxDepthExceededError."""


def _line(mark: Any) -> int | None:
    return int(mark.line) + 1 if mark is not None else None


def _too_deep(what: str, source: str | Path, line: int | None) -> InputFileError:
    return InputFileError(
        what, source, f"nested deeper than {MAX_DEPTH} levels; no servestack file needs that many", line=line
    )


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_tree(root: Node, what: str, source: str | Path) -> None:
    """Duplicate keys, and what aliases expand to: size, depth and self-reference.

    Iterative, because the expanded depth of chained aliases is not bounded by the composer's limit.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    todo: list[tuple[Node, bool]] = [(root, False)]
    while todo:
        node, finished = todo.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_NODES:
                raise InputFileError(
                    what, source,
                    f"its anchors and aliases expand to more than {MAX_NODES:,} values; write the values out "
                    "instead of nesting aliases",
                    line=_line(node.start_mark),
                )
            if depth[key] > MAX_DEPTH:
                raise _too_deep(what, source, _line(node.start_mark))
            continue
        if key in size:
            continue
        if key in on_path:
            raise InputFileError(what, source, "an alias refers to the value that contains it; remove the cycle",
                                 line=_line(node.start_mark))
        on_path.add(key)
        todo.append((node, True))
        if isinstance(node, MappingNode):
            _check_unique_keys(node, what, source)
        todo.extend((k, False) for k in _children(node) if id(k) not in size)


def _check_unique_keys(node: MappingNode, what: str, source: str | Path) -> None:
    first_line: dict[tuple[str, str], int | None] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode):
            raise InputFileError(what, source, "a mapping key is a list or mapping; keys are plain values",
                                 line=_line(key_node.start_mark))
        ident = (str(key_node.tag), str(key_node.value))
        line = _line(key_node.start_mark)
        if ident in first_line:
            raise InputFileError(
                what, source,
                f"duplicate key {key_node.value!r} (first given on line {first_line[ident]}); give each key once",
                line=line,
            )
        first_line[ident] = line


def parse_yaml(text: str, source: str | Path, what: str = "file") -> Any:
    """One YAML 1.2 document as plain Python data; `InputFileError` for anything refused (see module doc)."""
    loader = YAML(typ="safe", pure=True)
    loader.Scanner = _FlowDepthScanner
    loader.max_depth = MAX_DEPTH
    try:
        node = loader.compose(text)
        if node is None:
            return None
        _check_tree(node, what, source)
        return loader.constructor.construct_document(node)
    except InputFileError:
        raise
    except _TooDeepError as exc:
        raise _too_deep(what, source, _line(exc.problem_mark)) from None
    except MarkedYAMLError as exc:
        if exc.__class__.__name__ == "MaxDepthExceededError":  # by name: older ruamel.yaml lacks the class
            raise _too_deep(what, source, _line(exc.problem_mark)) from None
        mark = exc.problem_mark or exc.context_mark
        problem = str(exc.problem or exc.context or "").strip()
        if isinstance(exc, ConstructorError):  # an unknown tag such as !!python/object
            message = f"unsupported value: {problem}; servestack files hold plain YAML data"
        else:
            message = f"malformed YAML: {problem}; fix the YAML syntax"
        column = int(mark.column) + 1 if mark is not None else None
        raise InputFileError(what, source, message, line=_line(mark), column=column) from None
    except ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise InputFileError(
            what, source, f"character U+{char:04X} is not allowed in YAML; is this a text file?", line=line
        ) from None
    except YAMLError as exc:
        raise InputFileError(what, source, f"malformed YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        # Only a ruamel.yaml older than the composer's max_depth gets here; the bound is the same.
        raise _too_deep(what, source, None) from None
    except (ValueError, TypeError, OverflowError) as exc:
        # A scalar the YAML resolver accepts but Python cannot build (a 5,000-digit integer, 2026-02-30).
        raise InputFileError(what, source, f"a value cannot be read ({exc})") from None


def load_yaml_file(path: Path | str, what: str) -> Any:
    """`read_user_text` then `parse_yaml`."""
    return parse_yaml(read_user_text(path, what), path, what)


class _DuplicateJsonKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateJsonKeyError(key)
        seen.add(key)
    return dict(pairs)


def _json_depth(value: Any) -> int:
    deepest = 0
    todo = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(text: str, source: str | Path, what: str = "file") -> Any:
    """A JSON document with unique keys and bounded nesting; `InputFileError` names the file and line.

    Non-standard `NaN`/`Infinity` are still read (Python's json does); callers that need finite numbers
    check them with the key in hand.
    """
    try:
        data = json.loads(text, object_pairs_hook=_unique_pairs)
    except _DuplicateJsonKeyError as exc:
        line = None
        try:
            # JSON is YAML 1.2 flow syntax: the YAML reader knows on which line the second copy sits.
            parse_yaml(text, source, what)
        except InputFileError as located:
            line = located.line if located.problem.startswith("duplicate key") else None
        raise InputFileError(what, source, f"duplicate key {exc.key!r}; give each key once", line=line) from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            what, source, f"not valid JSON ({exc.msg})", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise _too_deep(what, source, None) from None
    if _json_depth(data) > MAX_DEPTH:
        raise _too_deep(what, source, None)
    return data


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on a directory (flock on its descriptor: no lock file is left behind)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def write_text_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text`: readers see the old file or the new one, never a mix.

    Writers of the same directory take turns (`flock`), each through its own temporary file in the same
    directory (so `os.replace` is a rename on one file system); the temporary file is removed on any error.
    Raises `OSError` when the directory cannot be written; the caller names the file in its message.
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    with _directory_lock(directory):
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            if path.exists():
                # Keep the permissions a person gave the stack file (mkstemp creates it 0600).
                os.chmod(tmp_name, path.stat().st_mode & 0o7777)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp_name, 0o666 & ~umask)
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
