"""Where the budget and guardrails packs live for a given project.

Order (first hit wins, per pack):
1. `<project>/policies/<name>/` — a project that vendors (or customises) the packs, as servestack's own repo does;
2. `<source checkout>/policies/<name>/` — the repository next to an editable install;
3. the same pack files generated for the installed servestack into the user cache
   (`servestack.policies.pack_files`), for a platform team's program that merely uses pulumi-aws/gcp/kubernetes.
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
    """The pack of the installed servestack: its source checkout's, else generated into the user cache."""
    import servestack
    from servestack.policies.pack_files import materialize_pack
    from servestack.policies.packs import BUDGET, GUARDRAILS

    checkout = Path(servestack.__file__).resolve().parent.parent / "policies" / name
    if _is_pack(checkout):
        return checkout
    spec = {p.directory: p for p in (BUDGET, GUARDRAILS)}.get(name)
    return materialize_pack(spec) if spec is not None else None


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
