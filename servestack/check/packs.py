"""Which policy packs judge a change: the central ones of the installed servestack, never the change's own.

`servestack check` runs the budget and guardrails packs generated from the *installed* servestack
(`servestack.policies.pack_files`) into a directory of its own, whatever the project under review contains.
A project's own packs run only when named with `--policy-pack DIR`, and then in addition to the central ones.
A project that vendors `policies/budget` or `policies/guardrails` is compared with the installed packs; a copy
that differs is reported (`vendored_pack_notes`), never preferred.

`installed_pack_dir` is where the Pulumi CLI should take the packs from (`pulumi preview --policy-pack`): the
source checkout next to an editable install (whose `requirements.txt` installs that checkout), else the
same files generated into the user cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from servestack.errors import ConfigError

__all__ = [
    "DEFAULT_PACKS",
    "central_pack_dirs",
    "default_pack_dirs",
    "find_pack",
    "installed_pack_dir",
    "vendored_pack_notes",
]

DEFAULT_PACKS = ("budget", "guardrails")


def _is_pack(path: Path) -> bool:
    return (path / "PulumiPolicy.yaml").is_file()


def installed_pack_dir(name: str) -> Path | None:
    """The pack of the installed servestack: its source checkout's, else generated into the user cache."""
    import servestack
    from servestack.policies.pack_files import materialize_pack
    from servestack.policies.packs import PACKS

    checkout = Path(servestack.__file__).resolve().parent.parent / "policies" / name
    if _is_pack(checkout):
        return checkout
    spec = PACKS.get(name)
    return materialize_pack(spec) if spec is not None else None


def find_pack(project_dir: Path, name: str) -> Path:
    """The installed servestack's pack `name`; `project_dir` is not consulted (kept for callers of the old API)."""
    shipped = installed_pack_dir(name)
    if shipped is None:
        raise ConfigError(
            f"policy pack {name!r}: not part of the servestack installation; allowed: {', '.join(DEFAULT_PACKS)}"
        )
    return shipped


def default_pack_dirs(project_dir: Path, names: Sequence[str] = DEFAULT_PACKS) -> list[Path]:
    return [find_pack(project_dir, n) for n in names]


def central_pack_dirs(root: Path, names: Sequence[str] = DEFAULT_PACKS) -> list[Path]:
    """Write the installed servestack's packs under `root` (a directory the check owns) and return their dirs.

    Generated from the code that runs the check, so nothing in the project under review can replace them.
    """
    from servestack import __version__
    from servestack.policies.pack_files import pack_files
    from servestack.policies.packs import PACKS

    dirs = []
    for name in names:
        spec = PACKS[name]
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        for file_name, text in pack_files(spec, f"servestack=={__version__}").items():
            (directory / file_name).write_text(text, encoding="utf-8")
        dirs.append(directory)
    return dirs


def vendored_pack_notes(project_dir: Path, names: Sequence[str] = DEFAULT_PACKS) -> list[str]:
    """One note per pack the project vendors under `policies/<name>` that differs from the installed pack."""
    from servestack import __version__
    from servestack.policies.pack_files import REPO_REQUIREMENT, pack_files
    from servestack.policies.packs import PACKS

    notes = []
    for name in names:
        vendored = Path(project_dir) / "policies" / name
        if not vendored.exists():
            continue
        spec = PACKS[name]
        # Either install line is the same pack: the repository's own copy installs its checkout.
        expected = [pack_files(spec, REPO_REQUIREMENT), pack_files(spec, f"servestack=={__version__}")]
        differing: set[str] = set()
        present = sorted(p.name for p in vendored.iterdir()) if vendored.is_dir() else []
        for variant in expected:
            diff = {f for f in set(variant) | set(present) if f not in ("venv", "__pycache__") and not f.startswith(".")
                    and _text(vendored / f) != variant.get(f)}
            differing = diff if not differing or len(diff) < len(differing) else differing
            if not diff:
                break
        else:
            notes.append(
                f"policies/{name} in the project differs from the {name} pack of the installed servestack "
                f"{__version__} ({', '.join(sorted(differing))}); the installed pack judged this change. "
                f"Pass --policy-pack policies/{name} to run the project's copy as well."
            )
    return notes


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None
