"""Cost diff: pairing by resource, stack selection from git, and the pull-request Markdown."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from servestack.check.costdiff import CostDiff, cost_diff, diff_env, render_markdown
from servestack.check.costs import CostLine, CostSummary, summary_from_lines
from servestack.errors import SpecError

FIXTURES = Path(__file__).parent / "fixtures"
DISK_USD_PER_GIB = 0.08  # test price, not a catalog fact


def line(name: str, expected: float | None, ceiling: float | None, item: str = "storage") -> CostLine:
    return CostLine(f"urn:pulumi:dev::p::t::{name}", "test:index:Disk", name, item, expected, ceiling)


def test_pairs_items_by_urn_and_item_and_totals_deltas() -> None:
    before = summary_from_lines([line("a", 10, 20), line("b", 5, 5), line("a", 1, 1, "volumes")])
    after = summary_from_lines([line("a", 12, 30), line("c", 7, 7), line("a", 1, 1, "volumes")])
    env = diff_env("dev", before, after, 100, 50)
    rows = {(r.name, r.item): (r.delta_expected, r.delta_ceiling) for r in env.resources}
    assert rows == {
        ("a", "storage"): (2, 10),
        ("b", "storage"): (-5, -5),
        ("a", "volumes"): (0, 0),
        ("c", "storage"): (7, 7),
    }
    assert (env.delta_expected, env.delta_ceiling) == (4, 12)


def test_new_stack_and_unknown_prices() -> None:
    env = diff_env("prod", None, summary_from_lines([line("a", 3, 4)]))
    assert env.delta_ceiling == 4
    unknown = diff_env("dev", CostSummary(None, None), summary_from_lines([line("a", 3, 4)]))
    assert unknown.delta_expected is None


def test_markdown_table_lists_changed_resources_and_flags_budget() -> None:
    before = summary_from_lines([line("gpu", 1000, 2000), line("same", 5, 5)])
    after = summary_from_lines([line("gpu", 1500, 3000), line("same", 5, 5)])
    md = render_markdown(CostDiff("main", [diff_env("prod", before, after, 2500, 2500)]))
    assert "| prod | $1,005.00 | $1,505.00 | +$500.00 | $2,005.00 | $3,005.00 | +$1,000.00 | $2,500.00 ⚠️" in md
    assert "| gpu (storage) | test:index:Disk |" in md and "1 other priced resource(s) unchanged." in md
    assert "| same " not in md
    assert "No stack changed." in render_markdown(CostDiff("main", []))


HOSTILE_NAMES = [
    "gpu | $0.00 | $0.00 |\n| forged | row",
    "x\n# Approved by security",
    "ping @acme/platform-leads and @octocat",
    "gpu<!-- the rest of the comment is hidden",
    "<img src=x onerror=alert(1)><a href='https://evil.example'>docs</a>",
    "[cheaper](https://evil.example) ![i](https://evil.example/p.png)",
    "`code` **bold** _em_ \\| \\",
    "bidi \u202etxt.exe\u2028next",
    "#12 &amp; &#124;",
]


def _cells(row: str) -> list[str]:
    assert row.startswith("| ") and row.endswith(" |"), row
    return row[2:-2].split(" | ")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_markdown_escapes_user_controlled_names(name: str) -> None:
    before = summary_from_lines([line(name, 100, 200)])
    after = summary_from_lines([line(name, 150, 300)])
    diff = CostDiff(f"main{name}", [diff_env(name, before, after, 1000, 1000)])
    md = render_markdown(diff)
    lines = md.splitlines()
    # The structure is servestack's own: one title heading, two tables with the rows they should have.
    assert [ln for ln in lines if ln.startswith("#")] == [lines[0]]
    tables = [ln for ln in lines if ln.startswith("|")]
    assert len(tables) == 2 + 1 + 2 + 1, md  # header, rule, one stack row; header, rule, one resource row
    assert all(len(_cells(ln)) == 8 for ln in tables if not ln.startswith("|---"))
    # Nothing the name carries reaches the renderer as markup, a mention or a link.
    for raw in ("<!--", "<img", "<a ", "](", "**", "`", "\u202e", "\u2028"):
        assert raw not in md, raw
    assert re.search(r"@(?!&#8203;)", md.replace("&#64;&#8203;", "")) is None
    # What a reader sees is still the name (control characters shown as spaces, mentions broken).
    stack_cell = _cells(tables[2])[0]
    shown = html.unescape(stack_cell).replace("\u200b", "")
    assert shown == re.sub(r"[\n\u202e\u2028]", " ", name)
    resource_cell = _cells(tables[5])[0]
    assert html.unescape(resource_cell).replace("\u200b", "") == shown + " (storage)"


def test_notes_and_base_are_escaped_too() -> None:
    summary = CostSummary(1.0, 1.0, notes=["<!-- hidden\n# heading @team"])
    md = render_markdown(CostDiff("main<!--", [diff_env("prod", summary, summary)]))
    assert "<!--" not in md and "\n# heading" not in md and "@team" not in md


# -- against git ------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _price(project: Path, stack: str) -> tuple[CostSummary, float | None]:
    # Prices the fixture program's disk from the real offline preview of that side.
    from servestack.preview import run_preview

    result = run_preview(project, stack)
    disks = [r for r in result.resources if r.type == "test:index:Disk"]
    lines = [CostLine(r.urn, r.type, r.name, "storage", *[r.inputs["size"] * DISK_USD_PER_GIB] * 2) for r in disks]
    return summary_from_lines(lines), None


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    project = repo / "infra"
    shutil.copytree(FIXTURES / "project", project)
    (project / "Pulumi.yaml").write_text((project / "Pulumi.yaml").read_text() + "stackConfigDir: stacks\n")
    (project / "stacks").mkdir()
    (project / "Pulumi.dev.yaml").rename(project / "stacks" / "Pulumi.dev.yaml")
    (project / "stacks" / "Pulumi.prod.yaml").write_text("config:\n  tiny:diskSize: 100\n")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "base")
    return project


def test_changed_stack_only_by_default(repo: Path) -> None:
    (repo / "stacks" / "Pulumi.prod.yaml").write_text("config:\n  tiny:diskSize: 150\n")
    diff = cost_diff(repo, "main", price=_price)
    assert [e.stack for e in diff.environments] == ["prod"]
    [env] = diff.environments
    assert env.before is not None and env.after is not None
    assert env.before.expected == pytest.approx(100 * DISK_USD_PER_GIB)
    assert env.delta_expected == pytest.approx(50 * DISK_USD_PER_GIB)
    doc = json.loads(json.dumps(diff.to_json()))
    assert doc["environments"][0]["resources"][0]["name"] == "disk"


def test_new_stack_and_explicit_stack(repo: Path) -> None:
    (repo / "stacks" / "Pulumi.staging.yaml").write_text("config:\n  tiny:diskSize: 20\n")
    diff = cost_diff(repo, "main", price=_price)
    [env] = diff.environments
    assert env.stack == "staging" and env.before is None and env.after is not None
    unchanged = cost_diff(repo, "main", ["dev"], price=_price)
    assert unchanged.environments[0].delta_expected == 0


def test_program_change_reprices_every_stack(repo: Path) -> None:
    main_py = repo / "__main__.py"
    main_py.write_text(main_py.read_text().replace("or 10", "or 12"))
    assert [e.stack for e in cost_diff(repo, "main", price=_price).environments] == ["dev", "prod"]


def test_bad_ref_and_stack_name_the_flag(repo: Path) -> None:
    with pytest.raises(SpecError) as err:
        cost_diff(repo, "no-such-branch", price=_price)
    assert err.value.field == "--base"
    with pytest.raises(SpecError) as err:
        cost_diff(repo, "main", ["qa"], price=_price)
    assert err.value.field == "-s" and "dev" in err.value.allowed


def test_unpriced_on_both_sides_is_not_a_change() -> None:
    unknown = CostLine("urn:pulumi:dev::p::t::repo", "aws:ecr/repository:Repository", "repo", "registry", None, None,
                       "usage-priced")
    env = diff_env("dev", summary_from_lines([unknown]), summary_from_lines([unknown]))
    assert [r.changed for r in env.resources] == [False]
    became_priced = CostLine(unknown.urn, unknown.type, unknown.name, unknown.item, 5.0, 5.0)
    env = diff_env("dev", summary_from_lines([unknown]), summary_from_lines([became_priced]))
    assert [r.changed for r in env.resources] == [True]


def test_outside_a_git_repository_says_so(tmp_path: Path) -> None:
    from servestack.check.costdiff import cost_diff
    from servestack.errors import ConfigError

    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    with pytest.raises(ConfigError, match="not inside a git repository"):
        cost_diff(tmp_path, "main")


def test_json_figures_are_rounded_to_cents() -> None:
    from servestack.check.costdiff import CostDiff

    env = diff_env("prod", summary_from_lines([line("gpu", 1000.004, 2000.006)]),
                   summary_from_lines([line("gpu", 1500.126, 3000.0049)]))
    doc = CostDiff("main", [env]).to_json()["environments"][0]
    assert doc["after"]["expected"] == 1500.13 and doc["after"]["ceiling"] == 3000.0
    assert doc["delta"] == {"expected": 500.12, "ceiling": 1000.0}  # rounded after subtracting
    assert doc["resources"][0]["before"] == {"expected": 1000.0, "ceiling": 2000.01}
