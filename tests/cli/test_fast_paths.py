"""`plan`, `estimate` and `catalog` never load the Pulumi SDKs: they must start fast on any machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from servestack.cli import main
code = main({argv!r})
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pulumi", "pulumi_aws", "pulumi_gcp",
               "pulumi_kubernetes", "pulumi_policy", "grpc", "boto3", "moto"))
print("HEAVY:" + ",".join(heavy), file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize("argv", [
    ["plan", str(ROOT / "examples" / "chat-70b.yaml"), "--json"],
    ["estimate", "--model", "llama-3.1-8b", "--precision", "bf16", "--input-tokens", "500", "--output-tokens", "100",
     "--accelerator", "L4", "--count", "1", "--json"],
    ["catalog", "--cloud", "gcp", "--accelerator", "L4", "--json"],
], ids=["plan", "estimate", "catalog"])
def test_verb_imports_no_pulumi_or_cloud_sdk(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    heavy = proc.stderr.rsplit("HEAVY:", 1)[1].strip()
    assert heavy == "", f"{argv[0]} imported {heavy}"


def test_missing_pulumi_extras_are_named_not_a_traceback(tmp_path: Path) -> None:
    # Hide the Pulumi SDKs the way a plain `pip install servestack` lacks them.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pulumi', 'grpc'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Block())\n"
    )
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "servestack.cli", "preview", "-C", str(ROOT), "-s", "prod"],
                          capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "pip install 'servestack[pulumi]'" in proc.stderr


LOADED = """
import sys
from servestack.cli import main
code = main({argv!r})
print("LOADED:" + ",".join(sorted(m for m in {modules!r} if m in sys.modules)), file=sys.stderr)
sys.exit(code)
"""
# Built only when a contract is written or printed as JSON: the pydantic contract models, and the stack-file
# writer (with ruamel's round-trip YAML).
_CONTRACT = "servestack.contract.model"
_WRITER = "servestack.generate.stack_config"


@pytest.mark.parametrize(("flags", "expected"), [
    ([], []),
    (["--json"], [_CONTRACT]),
], ids=["text", "json"])
def test_plan_builds_the_contract_models_only_when_it_prints_them(flags: list[str], expected: list[str]) -> None:
    argv = ["plan", str(ROOT / "examples" / "chat-70b.yaml"), *flags]
    probe = LOADED.format(argv=argv, modules=[_CONTRACT, _WRITER])
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.rsplit("LOADED:", 1)[1].strip().split(",") == (expected or [""])
