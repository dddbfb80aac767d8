"""A compiled copy of a validated catalog, so a planner process skips JSON parsing and schema checks.

Validating the data files (pydantic) and building the records costs more than the whole plan. The first
load of a catalog directory validates as before and writes the records as plain tuples (`marshal`, which
holds only data, never code) to `$XDG_CACHE_HOME/servestack/compiled/<hash>.marshal`; later processes
read that instead. The name is a hash of both data files' bytes and of the record layouts, so an edited
or refreshed catalog, or a servestack whose records changed shape, is validated afresh. A compiled copy
that cannot be read, written or decoded is ignored: the data files stay the source of truth.
"""

from __future__ import annotations

import hashlib
import marshal
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from servestack.catalog.catalog import Catalog, InstanceFacts
from servestack.catalog.types import Accelerator, Offering

__all__ = ["compiled_dir", "compiled_key", "read_compiled", "write_compiled"]

_FORMAT = 1
_RECORDS = (Accelerator, InstanceFacts, Offering)
_LAYOUT = repr([(r.__name__, [(f.name, str(f.type)) for f in fields(r)]) for r in _RECORDS]).encode()


def compiled_dir() -> Path:
    """`$XDG_CACHE_HOME/servestack/compiled`, or `~/.cache/servestack/compiled`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "servestack" / "compiled"


def compiled_key(*documents: bytes) -> str:
    """Hash of the data files' bytes and the record layouts (so a changed layout never reads old tuples)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(b"servestack-catalog-%d\0" % _FORMAT)
    h.update(_LAYOUT)
    for doc in documents:
        h.update(len(doc).to_bytes(8, "little"))
        h.update(doc)
    return h.hexdigest()


def _rows(records: Any, record_type: type[Any]) -> list[tuple[Any, ...]]:
    names = [f.name for f in fields(record_type)]
    return [tuple(getattr(r, n) for n in names) for r in records]


def write_compiled(key: str, catalog: Catalog) -> None:
    """Store `catalog` under `key`; any failure (read-only home, full disk) just leaves no compiled copy."""
    payload = (
        _FORMAT,
        catalog.as_of,
        _rows(catalog.accelerators.values(), Accelerator),
        _rows(catalog.instance_types(), InstanceFacts),
        _rows(catalog.offerings, Offering),
    )
    import tempfile  # only on the first load of a catalog; not worth its import time on every start

    directory = compiled_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".marshal")
        try:
            with os.fdopen(fd, "wb") as out:
                marshal.dump(payload, out)
            os.replace(tmp, directory / f"{key}.marshal")  # atomic: a reader never sees half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except (OSError, ValueError):
        return


def read_compiled(key: str) -> Catalog | None:
    """The catalog stored under `key`, None when there is none or it cannot be decoded."""
    try:
        data = (compiled_dir() / f"{key}.marshal").read_bytes()
        fmt, as_of, accs, facts, offs = marshal.loads(data)
        if fmt != _FORMAT:
            return None
        accelerators = {row[0]: Accelerator(*row) for row in accs}
        return Catalog(accelerators, [Offering(*row) for row in offs], as_of, [InstanceFacts(*row) for row in facts])
    except (OSError, EOFError, ValueError, TypeError):
        return None
