"""Fenced code blocks of Markdown files, with the markers that say how the docs tests treat them.

Imports nothing of servestack, so it can be reused for any Markdown. The marker convention (also in
docs/README.md):

- A block's language comes from its fence: ```bash, ```sh, ```shell -> "sh"; ```console -> "console";
  ```python / ```py -> "python"; anything else (yaml, json, plain) is not run.
- Markers come from the fence's info string after the language (```bash no-run) and from an HTML comment on
  the line just before the fence: `<!-- docs: no-run (needs pulumi CLI) -->`. Several markers may be given,
  separated by commas; text in parentheses after a marker is its reason or argument.
- `no-run (reason)`: not executed; checked statically instead (servestack flags, `servestack:` keys, file paths).
- `exit N`: the block (for a console block, its last `$ ` command) is expected to exit with status N, not 0.
- `pulumi-program`: a Python block that is the `__main__.py` of a Pulumi project, run under servestack's
  offline engine (`servestack preview`); `config (KEY=VALUE ...)` adds stack config (default
  `aws:region=us-east-1`).
- `new-session`: a Python block that does not continue the file's earlier Python blocks (see `python_prelude`).
- `needs (TOOL ...)`: the block runs only where these programs are on PATH (e.g. `needs (jq)`); elsewhere its
  test is skipped, naming the missing program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Block", "Marker", "blocks_of", "console_commands", "console_labels", "parse_markers", "python_prelude",
    "shell_commands",
]

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_COMMENT = re.compile(r"^\s*<!--\s*docs:\s*(?P<body>.*?)\s*-->\s*$")
_MARKER = re.compile(
    r"\s*(?P<name>[a-z][a-z0-9-]*)(?:\s+(?P<word>[^\s,(]+))?\s*(?:\((?P<arg>[^)]*)\))?\s*(?:,|$)"
)
_LANGS = {
    "bash": "sh", "sh": "sh", "shell": "sh", "zsh": "sh", "console": "console", "python": "python", "py": "python"
}
KNOWN_MARKERS = frozenset({"no-run", "exit", "pulumi-program", "config", "new-session", "needs"})


@dataclass(frozen=True)
class Marker:
    name: str
    arg: str = ""
    """The text in parentheses (a reason, or `config`'s KEY=VALUE pairs), or the word after the name (`exit 1`)."""


@dataclass(frozen=True)
class Block:
    """One fenced code block."""

    path: Path
    """As given to `blocks_of` (callers pass repository-relative paths so test ids read `README.md:82`)."""
    line: int
    """1-based line of the opening fence."""
    info: str
    lang: str
    """"sh", "console", "python", or the fence's own first word (yaml, json, ...) / "" when it has none."""
    code: str
    markers: tuple[Marker, ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def has(self, name: str) -> bool:
        return any(m.name == name for m in self.markers)

    def marker(self, name: str) -> Marker | None:
        return next((m for m in self.markers if m.name == name), None)

    @property
    def runs(self) -> bool:
        return self.lang in ("sh", "console", "python") and not self.has("no-run")

    @property
    def expected_exit(self) -> int:
        m = self.marker("exit")
        return int(m.arg) if m is not None else 0


def parse_markers(text: str) -> tuple[Marker, ...]:
    """`no-run (needs pulumi CLI), exit 1` -> (Marker("no-run", "needs pulumi CLI"), Marker("exit", "1"))."""
    markers: list[Marker] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _MARKER.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read docs marker at {text[pos:]!r}; markers: {', '.join(sorted(KNOWN_MARKERS))}")
        name = m["name"]
        if name not in KNOWN_MARKERS:
            raise ValueError(f"unknown docs marker {name!r}; markers: {', '.join(sorted(KNOWN_MARKERS))}")
        markers.append(Marker(name, (m["arg"] or m["word"] or "").strip()))
        pos = m.end()
    return tuple(markers)


def blocks_of(path: Path, text: str | None = None) -> list[Block]:
    """Every fenced block of a Markdown file, in order. Indented fences (inside list items) count too; their
    indentation is removed from the code."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = _FENCE.match(lines[j])
            if closing is not None and closing["fence"].startswith(fence[0]) and len(closing["fence"]) >= len(fence) \
                    and not closing["info"].strip():
                break
            body.append(lines[j][len(indent):] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        words = info.split(None, 1)
        first = words[0].lower() if words else ""
        where = f"{path}:{i + 1}"
        try:
            markers = parse_markers(words[1]) if len(words) > 1 else ()
            previous = lines[i - 1] if i > 0 else ""
            comment = _COMMENT.match(previous)
            if comment is not None:
                markers = parse_markers(comment["body"]) + markers
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        found.append(Block(path, i + 1, info, _LANGS.get(first, first), "\n".join(body) + "\n", markers))
        i = j + 1
    return found


def python_prelude(blocks: list[Block], block: Block) -> list[Block]:
    """The earlier Python blocks of the same file that `block` continues: a file's Python blocks read like one
    session (a later block may use names an earlier one defined), back to the latest `new-session` block.
    Blocks that do not run, and blocks of the other kind (a `pulumi-program` is a program of its own), are left
    out."""
    if block.has("new-session"):
        return []
    earlier: list[Block] = []
    for b in blocks:
        if b is block or b.line >= block.line:
            break
        if b.lang != "python" or not b.runs or b.has("pulumi-program") != block.has("pulumi-program"):
            continue
        if b.has("new-session"):
            earlier = []
        earlier.append(b)
    return earlier


def _logical_lines(code: str) -> list[str]:
    """Lines with backslash continuations joined."""
    out: list[str] = []
    pending = ""
    for raw in code.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        out.append(pending + raw)
        pending = ""
    if pending:
        out.append(pending)
    return out


def shell_commands(code: str) -> list[str]:
    """The commands of a shell block, one per logical line, comments and blank lines dropped."""
    return [line.strip() for line in _logical_lines(code) if line.strip() and not line.strip().startswith("#")]


def console_commands(code: str) -> list[str]:
    """The `$ ` commands of a console block (their shown output is left out)."""
    commands: list[str] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command.rstrip()[:-1] + " " + lines[i].strip()
            commands.append(command.strip())
        i += 1
    return commands


_LABEL = re.compile(r"^([a-z][a-z -]{0,30}):\s")


def console_labels(code: str) -> list[str]:
    """The labels of a console block's shown output lines (`chosen: aws ...` -> "chosen"), in order."""
    return [m[1] for line in code.splitlines() if not line.startswith("$ ") and (m := _LABEL.match(line))]
