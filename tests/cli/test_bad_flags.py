"""Flags given a bad value exit 2 naming the flag and what is allowed, in every verb that takes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from servestack.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEV_SPEC = ROOT / "examples" / "dev-7b-spot.yaml"


@pytest.mark.parametrize("flag", ["--cloud", "--region", "--accelerator"])
def test_catalog_empty_filter_is_an_error_not_no_filter(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["catalog", flag, ""])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith(f"error: {flag}: ''"), err


@pytest.mark.parametrize("project", ["My Project!", "p-1", "1abcdef", "abcdef-"])
def test_plan_refuses_an_invalid_gcp_project_id(project: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", str(DEV_SPEC), "--env", "dev", "--write", "-C", str(tmp_path), "--gcp-project", project])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("error: --gcp-project:") and "6-30" in err, err
    assert not list(tmp_path.iterdir())


def test_write_outside_a_project_names_the_real_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", str(DEV_SPEC), "--env", "dev", "--write", "-C", str(tmp_path), "--json"])
    _, err = capsys.readouterr()
    assert code == 2 and "no Pulumi.yaml" in err
    assert "--project-dir" not in err and "-C DIR" in err


def test_write_outside_a_project_fails_before_printing_a_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = str(ROOT / "examples" / "dev-7b-spot.yaml")
    code = main(["plan", example, "--env", "dev", "--write", "-C", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 2 and "no Pulumi.yaml" in err
    assert out == ""
