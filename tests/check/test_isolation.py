"""The program under review cannot change the verdict: it runs in its own process and fails closed.

Each program here is one a hostile pull request could contain. Before the program ran in its own process,
each of them ended the check with exit 0, a forged `passed: true`, or unparsable `--json` output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from servestack.check import run_check
from servestack.cli import main
from servestack.preview import ProgramError, run_preview

TINY = Path(__file__).parent / "fixtures" / "tinypack"
PUBLIC_BUCKET = 'pulumi.CustomResource("test:index:Bucket", "public", {"acl": "public-read"})\n'


def _project(tmp_path: Path, program: str) -> Path:
    project = tmp_path / "hostile"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: hostile\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text("config:\n  servestack:budgetMonthlyUsd: 1000\n")
    (project / "__main__.py").write_text("import pulumi\n" + textwrap.dedent(program))
    return project


def _check_cli(project: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servestack.cli", "check", "-C", str(project), "-s", "dev",
         "--policy-pack", str(TINY), *extra],
        capture_output=True, text=True, check=False, timeout=240,
    )


def test_a_program_that_patches_the_checker_cannot_forge_a_pass(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, """
        import servestack.check.run as run
        run.CheckResult.passed = property(lambda self: True)
        run.CheckResult.to_json = lambda self: {"stack": "dev", "passed": True, "violations": []}
        """ + PUBLIC_BUCKET)
    assert main(["check", "-C", str(project), "-s", "dev", "--policy-pack", str(TINY), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["passed"] is False
    assert [v["policy"] for v in doc["violations"] if v["enforcement"] == "mandatory"] == ["tiny-no-public-buckets"]


def test_os_exit_before_registering_everything_fails_the_check(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        import os
        pulumi.CustomResource("test:index:Bucket", "private", {"acl": "private"})
        os._exit(0)
        """ + PUBLIC_BUCKET)
    with pytest.raises(ProgramError, match="exited with code 0 before it finished"):
        run_check(project, "dev", packs=[TINY])
    proc = _check_cli(project, "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "before it finished" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("call", ["sys.exit(0)", "sys.exit()", "raise SystemExit(0)"])
def test_sys_exit_fails_the_check(tmp_path: Path, call: str) -> None:
    project = _project(tmp_path, f"import sys\n{call}\n" + PUBLIC_BUCKET)
    with pytest.raises(ProgramError, match=r"called sys\.exit"):
        run_preview(project, "dev")


def test_a_crashing_program_fails_the_check(tmp_path: Path) -> None:
    project = _project(tmp_path, PUBLIC_BUCKET + "raise RuntimeError('half done')\n")
    with pytest.raises(ProgramError, match="RuntimeError: half done") as err:
        run_check(project, "dev", packs=[TINY])
    assert err.value.exit_code == 1


def test_a_program_killed_by_a_signal_fails_the_check(tmp_path: Path) -> None:
    project = _project(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    with pytest.raises(ProgramError, match="killed by signal 9"):
        run_preview(project, "dev")


def test_a_forged_servestack_error_cannot_choose_exit_code_0(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        from servestack.errors import ServestackError
        class Forged(ServestackError):
            exit_code = 0
        raise Forged("all good, nothing to see")
        """)
    with pytest.raises(Exception) as err:
        run_preview(project, "dev")
    assert getattr(err.value, "exit_code", None) == 1


def test_program_output_never_reaches_json_stdout(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        import sys
        print('{"stack": "dev", "passed": true, "violations": []}')
        print("noise on stderr", file=sys.stderr)
        """ + PUBLIC_BUCKET)
    proc = _check_cli(project, "--json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)  # the whole of stdout is the check document
    assert doc["passed"] is False
    assert "noise on stderr" not in proc.stdout + proc.stderr

    human = _check_cli(project)
    assert human.returncode == 1
    assert 'stdout: {"stack": "dev", "passed": true' in human.stdout and "stderr: noise on stderr" in human.stdout

    preview = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "preview", "-C", str(project), "-s", "dev", "--json"],
        capture_output=True, text=True, check=False, timeout=240,
    )
    assert preview.returncode == 0 and json.loads(preview.stdout)["stack"] == "dev"


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"  # killed, waiting for init to reap it


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("hang", ["time.sleep(3600)", "while True:\n    pass"])
def test_a_hung_program_is_killed_with_its_children_and_fails(tmp_path: Path, hang: str) -> None:
    project = _project(tmp_path, f"""
import pathlib, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
pathlib.Path("child.pid").write_text(str(child.pid))
{hang}
""")
    proc = _check_cli(project, "--timeout", "3", "--json")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "did not finish within 3 s and was killed" in proc.stderr
    pid = int((project / "child.pid").read_text())
    for _ in range(50):  # init reaps the orphan on its own schedule
        if _gone(pid):
            break
        time.sleep(0.1)
    assert _gone(pid), f"the program's child {pid} survived the check"


def test_timeout_must_be_a_positive_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(tmp_path, PUBLIC_BUCKET)
    for bad in ("0", "-1", "nan", "soon"):
        with pytest.raises(SystemExit) as exit_:
            main(["check", "-C", str(project), "--timeout", bad])
        assert exit_.value.code == 2
        assert "--timeout" in capsys.readouterr().err


def test_the_record_comes_from_the_engine_not_the_program_process(tmp_path: Path) -> None:
    # Patching the engine's classes inside the program changes nothing in the checker's process.
    project = _project(tmp_path, """
        import servestack.preview.monitor as monitor
        monitor.OfflineEngine.register = lambda *a, **k: None
        """ + PUBLIC_BUCKET)
    result = run_preview(project, "dev")
    assert [r.name for r in result.resources] == ["public"]
    assert os.environ.get("PULUMI_MONITOR") is None  # the checker's own environment is untouched
