"""docs/architecture.md's package table says what each package imports of servestack; the code agrees."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "servestack"
TABLE_HEADER = "| package | role | may import |"
ALWAYS_ALLOWED = {"errors", "__version__"}
"""The exception types and the package version, which every package may use (said under the table)."""


def documented() -> dict[str, set[str]]:
    """package -> the servestack modules its row names (`catalog`, `components.config`, ...)."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows = text[text.index(TABLE_HEADER):].split("\n\n", 1)[0].splitlines()[2:]
    table: dict[str, set[str]] = {}
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        names = set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)`", cells[2]))
        for package in re.findall(r"`([a-z_]+)`", cells[0]):
            table[package] = names
    return table


def imported(package: str) -> dict[str, str]:
    """servestack module imported by `package` (outside itself) -> the first file that imports it."""
    files = sorted((PACKAGE / package).rglob("*.py")) if (PACKAGE / package).is_dir() else [PACKAGE / f"{package}.py"]
    found: dict[str, str] = {}
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] if node.module != "servestack" else [f"servestack.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "servestack" and len(parts) > 1 and parts[1] != package:
                    found.setdefault(".".join(parts[1:3]), str(file.relative_to(ROOT)))
    return found


TABLE = documented()


def test_every_package_has_a_row() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "errors")}
    assert packages <= set(TABLE), f"docs/architecture.md has no row for {sorted(packages - set(TABLE))}"


@pytest.mark.parametrize("package", sorted(p for p in TABLE if p != "cli"))
def test_package_imports_what_its_row_says(package: str) -> None:
    allowed = TABLE[package]
    used = imported(package)

    def covered(module: str) -> bool:
        return module.split(".")[0] in ALWAYS_ALLOWED or module in allowed or module.split(".")[0] in allowed

    undocumented = {m: f for m, f in used.items() if not covered(m)}
    assert not undocumented, (
        f"docs/architecture.md: `{package}` imports what its row does not name: "
        + ", ".join(f"{m} ({f})" for m, f in sorted(undocumented.items()))
    )
    unused = {a for a in allowed if not any(m == a or m.startswith(f"{a}.") for m in used)}
    assert not unused, f"docs/architecture.md: the `{package}` row names {sorted(unused)}, which it does not import"
