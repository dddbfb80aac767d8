"""`servestack cost diff`: monthly cost per environment and per resource, before and after a change.

The base side is the project as committed at a git ref, exported with `git archive` into a temporary
directory (read-only for the repository: no worktree, no checkout). Both sides run the same offline
preview and costing; the program's imports resolve to the installed servestack, so a change to the
library itself is priced with the new code on both sides (stack files and the program are what differ).
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from servestack.check.costs import CostLine, CostSummary, cents, showback_json
from servestack.errors import ConfigError

__all__ = [
    "ResourceCostDiff",
    "EnvCostDiff",
    "CostDiff",
    "diff_env",
    "cost_diff",
    "render_markdown",
    "changed_stacks",
    "export_tree",
    "format_usd",
    "format_delta",
    "markdown_text",
]

_STACK_PREFIX = "Pulumi."


@dataclass(frozen=True)
class ResourceCostDiff:
    urn: str
    type: str
    name: str
    item: str
    before: CostLine | None
    after: CostLine | None

    @property
    def delta_expected(self) -> float | None:
        return _delta(self.before.expected if self.before else 0.0, self.after.expected if self.after else 0.0)

    @property
    def delta_ceiling(self) -> float | None:
        return _delta(self.before.ceiling if self.before else 0.0, self.after.ceiling if self.after else 0.0)

    @property
    def changed(self) -> bool:
        if self.before is not None and self.after is not None and not self.before.known and not self.after.known:
            # Unpriced on both sides (usage-priced registry storage, say): nothing a reviewer can act on,
            # unless the reason itself changed.
            return self.before.unknown_reason != self.after.unknown_reason
        return self.delta_expected != 0.0 or self.delta_ceiling != 0.0


@dataclass(frozen=True)
class EnvCostDiff:
    """One environment; `before`/`after` are None when the stack does not exist on that side."""

    stack: str
    before: CostSummary | None
    after: CostSummary | None
    budget_before: float | None = None
    budget_after: float | None = None
    resources: list[ResourceCostDiff] = field(default_factory=list)

    @property
    def delta_expected(self) -> float | None:
        return _delta(_total(self.before, "expected"), _total(self.after, "expected"))

    @property
    def delta_ceiling(self) -> float | None:
        return _delta(_total(self.before, "ceiling"), _total(self.after, "ceiling"))


@dataclass(frozen=True)
class CostDiff:
    base: str
    environments: list[EnvCostDiff]

    def to_json(self) -> dict[str, Any]:
        def side(s: CostSummary | None, budget: float | None) -> dict[str, Any] | None:
            if s is None:
                return None
            return {"expected": cents(s.expected), "ceiling": cents(s.ceiling), "budget_usd": budget,
                    "showback": showback_json(s)}

        def line(ln: CostLine | None) -> dict[str, Any] | None:
            return None if ln is None else {"expected": cents(ln.expected), "ceiling": cents(ln.ceiling)}

        return {
            "base": self.base,
            "environments": [
                {
                    "stack": e.stack,
                    "before": side(e.before, e.budget_before),
                    "after": side(e.after, e.budget_after),
                    "delta": {"expected": cents(e.delta_expected), "ceiling": cents(e.delta_ceiling)},
                    "resources": [
                        {
                            "urn": r.urn,
                            "type": r.type,
                            "name": r.name,
                            "item": r.item,
                            "before": line(r.before),
                            "after": line(r.after),
                            "delta": {"expected": cents(r.delta_expected), "ceiling": cents(r.delta_ceiling)},
                        }
                        for r in e.resources
                    ],
                }
                for e in self.environments
            ],
        }


def _total(s: CostSummary | None, which: str) -> float | None:
    if s is None:
        return 0.0
    value: float | None = getattr(s, which)
    return value


def _delta(before: float | None, after: float | None) -> float | None:
    if before is None or after is None:
        return None
    return round(after - before, 6)


def diff_env(
    stack: str,
    before: CostSummary | None,
    after: CostSummary | None,
    budget_before: float | None = None,
    budget_after: float | None = None,
) -> EnvCostDiff:
    """Pair the priced items of both sides by (URN, item); added and removed ones pair with None.

    The same resource has the same URN on both sides (same stack, project, parent chain and name).
    """
    old = {ln.key: ln for ln in (before.lines if before else [])}
    new = {ln.key: ln for ln in (after.lines if after else [])}
    order = list(old) + [k for k in new if k not in old]
    rows = []
    for key in order:
        b, a = old.get(key), new.get(key)
        ref = a or b
        assert ref is not None
        rows.append(ResourceCostDiff(urn=ref.urn, type=ref.type, name=ref.name, item=ref.item, before=b, after=a))
    return EnvCostDiff(stack, before, after, budget_before, budget_after, rows)


# -- git ------------------------------------------------------------------------------------------


def _git(args: Sequence[str], cwd: Path) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise ConfigError("cost diff needs git on PATH to read the base revision") from None
    if proc.returncode != 0:
        raise ConfigError(f"git {' '.join(args)}: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout


def _repo_root(project_dir: Path) -> Path:
    try:
        top = _git(["rev-parse", "--show-toplevel"], project_dir)
    except ConfigError:
        raise ConfigError(
            f"cost diff reads the base revision from git, and {project_dir.resolve()} is not inside a git "
            "repository; run it in the repository that holds the Pulumi project (or pass -C DIR)"
        ) from None
    return Path(top.decode().strip()).resolve()


def _verify_ref(ref: str, root: Path) -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root, capture_output=True, check=False
    )
    if proc.returncode != 0:
        from servestack.errors import SpecError

        raise SpecError(
            "--base",
            ref,
            "a branch, tag or commit of this repository (in CI, check out with fetch-depth: 0 so the base exists)",
        )
    return proc.stdout.decode().strip()


def export_tree(ref: str, root: Path, subdir: PurePosixPath, dest: Path) -> Path:
    """Write the files of `subdir` at `ref` into `dest` (via `git archive`); returns the exported subdir."""
    spec = str(subdir) if str(subdir) not in ("", ".") else "."
    data = _git(["archive", "--format=tar", ref, "--", spec], root)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest / subdir


def changed_stacks(
    root: Path, base_sha: str, project_rel: PurePosixPath, stack_dir_rel: PurePosixPath
) -> tuple[set[str], bool]:
    """Stacks whose file changed since `base_sha` (working tree included), and whether anything else in
    the project changed (then every stack may cost differently)."""
    scope = str(project_rel) if str(project_rel) not in ("", ".") else "."
    names = _git(["diff", "--name-only", base_sha, "--", scope], root).decode().splitlines()
    untracked = _git(["ls-files", "--others", "--exclude-standard", "--", scope], root).decode().splitlines()
    stacks: set[str] = set()
    other = False
    for name in names + untracked:
        path = PurePosixPath(name)
        if path.parent == stack_dir_rel and path.name.startswith(_STACK_PREFIX) and path.suffix in (".yaml", ".yml"):
            stacks.add(path.name[len(_STACK_PREFIX) :].rsplit(".", 1)[0])
        elif path.suffix == ".py" or path.name in ("Pulumi.yaml", "Pulumi.yml"):
            other = True
    return stacks, other


PriceFn = Callable[[Path, str], tuple[CostSummary, float | None]]
"""(project dir, stack) -> (costs, budget): a preview plus costing of one side."""


def _default_price(project_dir: Path, stack: str) -> tuple[CostSummary, float | None]:
    import json

    from servestack.check.costs import cost_summary
    from servestack.preview import run_preview

    result = run_preview(project_dir, stack)
    raw = result.config.get("servestack:budgetMonthlyUsd")
    budget: float | None = None
    if raw is not None:
        try:
            budget = float(json.loads(raw) if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            budget = None
    return cost_summary(result), budget


def cost_diff(
    project_dir: Path,
    base: str,
    stacks: Sequence[str] | None = None,
    *,
    price: PriceFn | None = None,
) -> CostDiff:
    """Cost of each environment at `base` and now; `stacks` defaults to those the change touches."""
    from servestack.preview.project import list_stacks, load_project

    price = price or _default_price
    head = load_project(Path(project_dir))
    root = _repo_root(head.directory)
    sha = _verify_ref(base, root)
    project_rel = PurePosixPath(head.directory.relative_to(root).as_posix())
    stack_dir_rel = PurePosixPath(head.stack_config_dir.relative_to(root).as_posix())
    head_stacks = set(list_stacks(head))

    with tempfile.TemporaryDirectory(prefix="servestack-base-") as tmp:
        base_dir = export_tree(sha, root, project_rel, Path(tmp))
        base_project = load_project(base_dir) if (base_dir / "Pulumi.yaml").is_file() else None
        base_stacks = set(list_stacks(base_project)) if base_project else set()
        if stacks:
            wanted = list(stacks)
            for s in wanted:
                if s not in head_stacks and s not in base_stacks:
                    from servestack.errors import SpecError

                    allowed = ", ".join(sorted(head_stacks | base_stacks)) or "none"
                    raise SpecError("-s", s, f"a stack with a file at {base} or now; allowed: {allowed}")
        else:
            touched, other = changed_stacks(root, sha, project_rel, stack_dir_rel)
            everything = head_stacks | base_stacks
            wanted = sorted(everything if other else touched & everything)
        envs = []
        for s in wanted:
            before, budget_before = price(base_dir, s) if s in base_stacks else (None, None)
            after, budget_after = price(head.directory, s) if s in head_stacks else (None, None)
            envs.append(diff_env(s, before, after, budget_before, budget_after))
    return CostDiff(base=base, environments=envs)


# -- rendering ------------------------------------------------------------------------------------


def format_usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:,.2f}"


def format_delta(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value == 0:
        return "$0.00"
    sign = "+" if value > 0 else "−"
    return f"{sign}${abs(value):,.2f}"


# Characters that stay as they are in a pull-request comment: letters, digits, space and `- . / :`, enough for
# stack names, resource names and type tokens (aws:eks/nodeGroup:NodeGroup) to read naturally.
_PLAIN = frozenset("-./: ")
_ZERO_WIDTH_SPACE = "&#8203;"


def markdown_text(text: str) -> str:
    """User-controlled text (stack, resource and type names, notes) made inert in a GitHub comment.

    Every ASCII character that could mean something to Markdown or HTML is written as a numeric character
    reference, which both renderers show as the character itself and neither interprets: so a name cannot
    end a table cell (`|`), start a heading (`#`), open an HTML comment or tag (`<!--`, `<img`), form a
    link (`[x](y)`), or emphasise. Line breaks and other control or format characters (bidi overrides)
    become spaces: they would end a table row or disguise the text. A zero-width space after `@` and `#`
    stops GitHub from turning `@org/team` into a mention and `#12` into an issue reference.
    """
    out: list[str] = []
    for ch in text:
        if (ch.isascii() and ch.isalnum()) or ch in _PLAIN:
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(" ")
        elif ch in "@#":
            out.append(f"&#{ord(ch)};{_ZERO_WIDTH_SPACE}")
        elif ch.isascii():
            out.append(f"&#{ord(ch)};")
        else:
            out.append(ch)  # letters of other scripts, emoji: nothing to Markdown
    return "".join(out)


def render_markdown(diff: CostDiff) -> str:
    """A pull-request comment: one row per environment, then the changed resources of each."""
    out = [f"### servestack cost diff (base {markdown_text(diff.base)})", ""]
    if not diff.environments:
        out.append("No stack changed.")
        return "\n".join(out) + "\n"
    out.append(
        "| stack | expected before | expected after | Δ expected "
        "| ceiling before | ceiling after | Δ ceiling | budget |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for e in diff.environments:
        b_exp = "(new)" if e.before is None else format_usd(e.before.expected)
        a_exp = "(removed)" if e.after is None else format_usd(e.after.expected)
        b_ceil = "(new)" if e.before is None else format_usd(e.before.ceiling)
        a_ceil = "(removed)" if e.after is None else format_usd(e.after.ceiling)
        budget = e.budget_after if e.after is not None else e.budget_before
        over = ""
        if budget is not None and e.after is not None and e.after.ceiling is not None and e.after.ceiling > budget:
            over = " ⚠️ ceiling over budget"
        row = [markdown_text(e.stack), b_exp, a_exp, format_delta(e.delta_expected)]
        row += [b_ceil, a_ceil, format_delta(e.delta_ceiling)]
        row.append((format_usd(budget) if budget is not None else "none") + over)
        out.append("| " + " | ".join(row) + " |")
    for e in diff.environments:
        changed = [r for r in e.resources if r.changed]
        if not changed:
            continue
        same = len(e.resources) - len(changed)
        out += ["", f"<details><summary>{markdown_text(e.stack)}: {len(changed)} resource(s) change cost</summary>", ""]
        out.append(
            "| resource | type | expected before | expected after | Δ expected "
            "| ceiling before | ceiling after | Δ ceiling |"
        )
        out.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in changed:
            out.append(
                "| "
                + " | ".join(
                    [
                        f"{markdown_text(r.name)} ({markdown_text(r.item)})",
                        markdown_text(r.type),
                        "(new)" if r.before is None else format_usd(r.before.expected),
                        "(removed)" if r.after is None else format_usd(r.after.expected),
                        format_delta(r.delta_expected),
                        "(new)" if r.before is None else format_usd(r.before.ceiling),
                        "(removed)" if r.after is None else format_usd(r.after.ceiling),
                        format_delta(r.delta_ceiling),
                    ]
                )
                + " |"
            )
        if same:
            out.append("")
            out.append(f"{same} other priced resource(s) unchanged.")
        out += ["", "</details>"]
    notes = sorted({n for e in diff.environments for s in (e.before, e.after) if s is not None for n in s.notes})
    if notes:
        out += ["", "Not priced (usage-based or unknown): " + "; ".join(markdown_text(n) for n in notes)]
    return "\n".join(out) + "\n"
