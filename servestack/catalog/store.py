"""Which catalog `plan` uses (bundled, or the newest refreshed one in the user's cache), and what changed.

Refreshed catalogs live in `$XDG_CACHE_HOME/servestack/catalog/<YYYY-MM-DD>/` (default `~/.cache`),
each a directory holding accelerators.json and offerings.json. Choosing costs one directory listing and
reading the first line of the bundled file, so `plan` does not get slower.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from servestack.catalog.load import DATA_DIR, OFFERINGS_FILE

__all__ = [
    "CatalogChoice",
    "read_offerings",
    "PriceChange",
    "cache_root",
    "choose_catalog",
    "compare_prices",
    "staleness_warning",
    "STALE_AFTER_DAYS",
]

STALE_AFTER_DAYS = 90
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AS_OF = re.compile(r'"as_of"\s*:\s*"(\d{4}-\d{2}-\d{2})"')


@dataclass(frozen=True)
class CatalogChoice:
    """The catalog directory in use, where it came from ("bundled" or "cache") and its date."""

    path: Path
    source: str
    as_of: str


def cache_root() -> Path:
    """`$XDG_CACHE_HOME/servestack/catalog`, or `~/.cache/servestack/catalog`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "servestack" / "catalog"


def _file_as_of(path: Path) -> str:
    """The file-level as_of of an offerings.json, read from its head (it precedes the rows)."""
    with path.open(encoding="utf-8") as fh:
        match = _AS_OF.search(fh.read(512))
    return match.group(1) if match else "0000-00-00"


def choose_catalog(root: Path | None = None) -> CatalogChoice:
    """The newest cached catalog when it is newer than the bundled one, else the bundled catalog."""
    bundled = CatalogChoice(DATA_DIR, "bundled", _file_as_of(DATA_DIR / OFFERINGS_FILE))
    root = cache_root() if root is None else root
    try:
        dated = sorted(
            (p for p in root.iterdir() if _DATE.match(p.name) and (p / OFFERINGS_FILE).is_file()),
            key=lambda p: p.name,
        )
    except OSError:
        return bundled
    if dated and dated[-1].name > bundled.as_of:
        return CatalogChoice(dated[-1], "cache", dated[-1].name)
    return bundled


def staleness_warning(choice: CatalogChoice, today: date) -> str | None:
    """A warning when the catalog in use is older than STALE_AFTER_DAYS, else None."""
    try:
        age = (today - date.fromisoformat(choice.as_of)).days
    except ValueError:
        return None
    if age <= STALE_AFTER_DAYS:
        return None
    return (
        f"the {choice.source} catalog is {age} days old (as of {choice.as_of}); spot and list prices move: "
        "run `servestack catalog refresh` for current prices"
    )


@dataclass(frozen=True)
class PriceChange:
    """One price that moved between two catalogs (USD per node-hour); old or new is None when added or removed."""

    cloud: str
    region: str
    instance_type: str
    field: str
    old: float | None
    new: float | None

    @property
    def change_pct(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / self.old * 100

    def to_json(self) -> dict[str, Any]:
        pct = self.change_pct
        return {
            "cloud": self.cloud, "region": self.region, "instance_type": self.instance_type, "field": self.field,
            "old": self.old, "new": self.new, "change_pct": None if pct is None else round(pct, 2),
        }


_FIELDS = ("on_demand", "spot", "committed_1y", "committed_3y")


def compare_prices(old_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows added and removed, and every price that moved, largest relative move first."""
    def key(row: dict[str, Any]) -> tuple[str, str, str]:
        return (row["cloud"], row["region"], row["instance_type"])

    old, new = {key(r): r for r in old_rows}, {key(r): r for r in new_rows}
    changes: list[PriceChange] = []
    for k in sorted(old.keys() & new.keys()):
        for f in _FIELDS:
            a, b = old[k].get(f), new[k].get(f)
            if a != b and not (a is not None and b is not None and abs(a - b) < 5e-6):
                changes.append(PriceChange(*k, f, a, b))

    def size(c: PriceChange) -> float:
        pct = c.change_pct
        return float("inf") if pct is None else abs(pct)

    changes.sort(key=lambda c: (-size(c), c.cloud, c.region, c.instance_type, c.field))
    return {
        "added": [list(k) for k in sorted(new.keys() - old.keys())],
        "removed": [list(k) for k in sorted(old.keys() - new.keys())],
        "changes": changes,
        "unchanged_rows": len(old.keys() & new.keys()) - len({(c.cloud, c.region, c.instance_type) for c in changes}),
    }


def read_offerings(directory: Path) -> dict[str, Any]:
    """The decoded offerings.json of a catalog directory."""
    doc: dict[str, Any] = json.loads((directory / OFFERINGS_FILE).read_text(encoding="utf-8"))
    return doc
