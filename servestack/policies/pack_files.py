"""The files of a CrossGuard pack directory, generated from its `PackSpec`.

The repository's `policies/<pack>/` directories are exactly these files (a test compares them), and a
project that does not vendor the packs gets the same files written to a cache directory, so every pack
the CLI or `servestack check` loads is one of these.
"""

from __future__ import annotations

import os
from pathlib import Path

from servestack import __version__
from servestack.policies.packs import PackSpec

__all__ = ["pack_files", "materialize_pack", "REPO_REQUIREMENT"]

REPO_REQUIREMENT = "-e ../.."
"""How the packs in this repository install servestack: from the checkout they live in (pip resolves
the path from the pack directory, where Pulumi creates the pack's virtualenv)."""

_MAIN = '''"""servestack {short} pack: assembles the PolicyPack; the rules live in servestack.policies."""

from pulumi_policy import EnforcementLevel, PolicyPack

from servestack.policies.adapter import build_policies
from servestack.policies.packs import {const}

PolicyPack(
    name={const}.name,
    description={const}.description,
    policies=build_policies({const}),
    enforcement_level=EnforcementLevel.ADVISORY,
)
'''

_POLICY_YAML = """description: {description}
version: {version}
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: venv
"""

_REQUIREMENTS = """pulumi>=3.200,<4
pulumi-policy>=1.13,<2
# servestack itself. In the servestack repository: the checkout the pack lives in; elsewhere the
# installed release. See policies/README.md.
{requirement}
"""


def pack_files(spec: PackSpec, requirement: str) -> dict[str, str]:
    """File name -> text of the pack directory for `spec`."""
    return {
        "__main__.py": _MAIN.format(short=spec.directory, const=spec.directory.upper()),
        "PulumiPolicy.yaml": _POLICY_YAML.format(description=spec.description, version=__version__),
        "requirements.txt": _REQUIREMENTS.format(requirement=requirement),
    }


def materialize_pack(spec: PackSpec, root: Path | None = None) -> Path:
    """Write the pack for the installed servestack under `root` (default: the user cache) and return its dir.

    Idempotent: files are rewritten only when their text differs, so a virtualenv Pulumi created inside
    the directory survives.
    """
    base = root or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "servestack" / "packs"
    directory = base / __version__ / spec.directory
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in pack_files(spec, f"servestack=={__version__}").items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    return directory
