"""Where the budget and guardrails packs live for a given project.

Order (first hit wins, per pack):
1. `<project>/policies/<name>/` — a project that vendors (or customises) the packs, as servestack's own repo does;
2. `servestack/packs/<name>/` — the packs shipped inside the installed distribution (package data), for a
   platform team's program that merely uses pulumi-aws/gcp/kubernetes;
3. `<source checkout>/policies/<name>/` — the repository next to an editable install.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from servestack.errors import ConfigError

__all__ = ["DEFAULT_PACKS", "find_pack", "default_pack_dirs", "installed_pack_dir"]

DEFAULT_PACKS = ("budget", "guardrails")


def _is_pack(path: Path) -> bool:
    return (path / "PulumiPolicy.yaml").is_file()


def installed_pack_dir(name: str) -> Path | None:
    """The pack shipped with servestack (package data, else the source checkout of an editable install)."""
    import servestack

    package = Path(servestack.__file__).resolve().parent
    for candidate in (package / "packs" / name, package.parent / "policies" / name):
        if _is_pack(candidate):
            return candidate
    return None


def find_pack(project_dir: Path, name: str) -> Path:
    vendored = Path(project_dir).resolve() / "policies" / name
    if _is_pack(vendored):
        return vendored
    shipped = installed_pack_dir(name)
    if shipped is not None:
        return shipped
    raise ConfigError(
        f"policy pack {name!r}: not found in {vendored} nor in the servestack installation; "
        "pass --policy-pack DIR (a directory holding PulumiPolicy.yaml) or reinstall servestack"
    )


def default_pack_dirs(project_dir: Path, names: Sequence[str] = DEFAULT_PACKS) -> list[Path]:
    return [find_pack(project_dir, n) for n in names]
