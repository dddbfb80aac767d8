"""A hostile file system under every verb: a message and exit 2 (1 when only the write is refused), no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import servestack.cli.plan_cmd
from servestack.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPEC = str(ROOT / "examples" / "dev-7b-spot.yaml")
LONG_NAME = "a" * 8000


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A Pulumi project with stackConfigDir `stacks` and a stack file for `dev` (a copy of the committed program)."""
    shutil.copy(ROOT / "__main__.py", tmp_path / "__main__.py")
    (tmp_path / "Pulumi.yaml").write_text("name: servestack\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text("config:\n  aws:region: us-east-1\n")
    return tmp_path


@pytest.fixture
def read_only_stacks(project: Path) -> Iterator[Path]:
    """`stacks/` made read-only: chmod for ordinary users; root ignores modes, so the immutable attribute."""
    stacks = project / "stacks"
    if os.geteuid() != 0:
        stacks.chmod(0o555)
        yield stacks
        stacks.chmod(0o755)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(stacks)], capture_output=True).returncode != 0:
        pytest.skip("running as root without chattr +i: cannot make a directory read-only")
    try:
        yield stacks
    finally:
        subprocess.run([chattr, "-i", str(stacks)], check=True)


def test_read_only_stacks_dir_refuses_the_write_with_exit_1(
    read_only_stacks: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (read_only_stacks / "Pulumi.dev.yaml").read_text()
    code, text = run(capsys, "plan", SPEC, "--env", "dev", "--write", "-C", str(project))
    assert code == 1
    assert "Pulumi.dev.yaml: cannot be written" in text and "nothing was changed" in text
    assert (read_only_stacks / "Pulumi.dev.yaml").read_text() == before
    assert sorted(p.name for p in read_only_stacks.iterdir()) == ["Pulumi.dev.yaml"]


def test_a_directory_where_the_stack_file_should_be(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "stacks" / "Pulumi.dev.yaml").unlink()
    (project / "stacks" / "Pulumi.dev.yaml").mkdir()
    code, text = run(capsys, "plan", SPEC, "--env", "dev", "--write", "-C", str(project))
    assert code == 2 and "is a directory, not a stack file" in text
    code, text = run(capsys, "preview", "-C", str(project), "-s", "dev")
    assert code == 2 and "is a directory, not a file" in text


def test_a_file_where_the_stack_config_dir_should_be(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(project / "stacks")
    (project / "stacks").write_text("oops\n")
    code, text = run(capsys, "plan", SPEC, "--env", "dev", "--write", "-C", str(project))
    assert code == 2 and "stackConfigDir 'stacks' is a file, not a directory" in text
    code, text = run(capsys, "preview", "-C", str(project), "-s", "dev")
    assert code == 2 and "stackConfigDir 'stacks' is a file, not a directory" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", SPEC, "--env", LONG_NAME],
        ["plan", SPEC, "--env", LONG_NAME, "--write"],
        ["preview", "-s", LONG_NAME],
        ["check", "-s", LONG_NAME],
    ],
    ids=["plan", "plan-write", "preview", "check"],
)
def test_an_8000_character_stack_name(
    argv: list[str], project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(capsys, *argv, "-C", str(project))
    assert code == 2 and "is not valid" in text
    assert len(text) < 1000, "the name is not echoed back whole"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["plan", "missing.yaml"], "does not exist"),
        (["estimate", "missing.yaml", "--accelerator", "L4", "--count", "1"], "does not exist"),
        (["preview", "-C", "missing-dir"], "no Pulumi.yaml here"),
        (["check", "-s", "dev", "--policy-config", "missing.json"], "does not exist"),
        (["check", "-s", "dev", "--policy-config", "."], "is a directory"),
        (["plan", "."], "is a directory"),
    ],
    ids=["plan", "estimate", "preview", "check-config", "check-config-dir", "plan-dir"],
)
def test_missing_files_and_directories(
    argv: list[str], fragment: str, project: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(project)
    code, text = run(capsys, *argv)
    assert code == 2 and fragment in text


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "not UTF-8 text"),
        (PermissionError(13, "Permission denied", "/x/stacks/Pulumi.dev.yaml"), "/x/stacks/Pulumi.dev.yaml"),
    ],
    ids=["recursion", "unicode", "os-error"],
)
def test_last_line_guard_turns_stray_input_errors_into_exit_2(
    error: BaseException, fragment: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every known source raises a ServestackError; this guards the ones not found yet.
    def failing_run(args: object) -> int:
        raise error

    monkeypatch.setattr(servestack.cli.plan_cmd, "run", failing_run)
    code, text = run(capsys, "plan", SPEC)
    assert code == 2 and text.startswith("error: ") and fragment in text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"name: pack\nversion: \xff\xfe\n", "line 2: is not UTF-8 text"),
        (b"name: pack\nversion: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nested deeper than"),
    ],
    ids=["binary", "deep"],
)
def test_hostile_policy_pack_file_is_exit_2_naming_it(
    content: bytes, fragment: str, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_bytes(content)
    code, text = run(capsys, "check", "-C", str(project), "-s", "dev", "--policy-pack", str(pack))
    assert code == 2 and "PulumiPolicy.yaml" in text and fragment in text
