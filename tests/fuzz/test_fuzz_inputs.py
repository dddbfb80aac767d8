"""Fuzzing every verb with generated specs, stack files and policy config: exit 0, 1 or 2, never a traceback or hang.

Inputs are valid files mutated the ways people and hostile pull requests break them: wrong types, huge,
negative and non-finite numbers, unknown and duplicate keys, deep nesting, alias bombs, truncation and
binary bytes. The cheap verbs (plan, plan --write, estimate, catalog) and the readers of stack files and
policy config run in-process with many examples; preview, check and cost diff start the program, so they
run as subprocesses with a few examples each. `SERVESTACK_FUZZ_SCALE=10` multiplies every count.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servestack.check.policy_config import load_policy_config
from servestack.cli import main
from servestack.components.config import DeploymentConfig
from servestack.errors import ServestackError
from servestack.preview.project import load_project, load_stack_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
SCALE = int(os.environ.get("SERVESTACK_FUZZ_SCALE", "1"))
HANG_S = 120  # far above any real run: only a hang trips it


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=examples * SCALE, deadline=None, derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                               HealthCheck.data_too_large],
    )


# -- generated documents ----------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(10**30), 10**30), st.sampled_from([0, -1, 2**63, 10**300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.sampled_from(["", "H100", "aws", "yes", "on", "1e9", "NaN", "-.inf", "~", "0x1F"]),
)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


@st.composite
def mutated_document(draw: st.DrawFn, base: Any) -> Any:
    """`base` with a few values replaced, removed or added under unknown keys."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(0, 4))):
        paths = list(_paths(doc))
        if not paths:
            break
        *parent_path, last = draw(st.sampled_from(paths))
        parent = doc
        for part in parent_path:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "remove", "unknown-key"]))
        if action == "replace":
            parent[last] = draw(_values)
        elif action == "remove":
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from([f"{last}x", str(last).upper(), "extra", "budget_usd"]))] = draw(_values)
    return doc


_TAGGED = [
    "!!set {a, b}", "!!binary aGVsbG8=", "!!omap [x: 1, y: 2]", "2026-02-30", "2026-01-01 10:00:00", "!!int x",
    "!!float .nan", "!!python/object/apply:os.system [id]", "!custom 1", "*undefined", "&a [*a]",
]


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _alias_bomb(levels: int) -> str:
    lines = ["zz0: &zz0 [a, a, a, a, a, a, a, a, a]"]
    lines += [f"zz{i}: &zz{i} [{', '.join([f'*zz{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> bytes:
    """YAML text damaged the ways files get damaged, as bytes."""
    data = text.encode()
    kind = draw(st.sampled_from(
        ["as-is", "truncate", "insert-bytes", "duplicate-line", "deep", "alias-bomb", "binary", "indent", "tagged"]
    ))
    lines = text.splitlines(keepends=True)
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "insert-bytes":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if kind == "duplicate-line" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :]).encode()
    if kind == "deep":
        return data + f"zz_deep: {_deep(draw(st.integers(1, 3000)))}\n".encode()
    if kind == "alias-bomb":
        return data + _alias_bomb(draw(st.integers(2, 14))).encode()
    if kind == "binary":
        return draw(st.binary(max_size=200))
    if kind == "tagged" and lines:
        # A value with an explicit tag replaces the value of one line: sets, bytes, dates, Python objects.
        i = draw(st.integers(0, len(lines) - 1))
        key, sep, _ = lines[i].partition(":")
        tagged = draw(st.sampled_from(_TAGGED))
        return "".join(lines[:i] + [f"{key}{sep or ':'} {tagged}\n"] + lines[i + 1 :]).encode()
    if kind == "indent" and lines:
        i = draw(st.integers(0, len(lines) - 1))
        return "".join(lines[:i] + ["\t" + lines[i]] + lines[i + 1 :]).encode()
    return data


def _dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@st.composite
def spec_files(draw: st.DrawFn) -> bytes:
    base = yaml.safe_load(draw(st.sampled_from(EXAMPLES)).read_text())
    return draw(mutated_text(_dump(draw(mutated_document(base)))))


@st.composite
def stack_files(draw: st.DrawFn) -> bytes:
    base = yaml.safe_load(draw(st.sampled_from(STACK_FILES)).read_text())
    return draw(mutated_text(_dump(draw(mutated_document(base)))))


_POLICY_NAMES = ["all", "budget-monthly-ceiling", "allowed-accelerators", "dev-spot-only", "budget-monthly-ceilin"]
_LEVELS = ["advisory", "mandatory", "disabled", "remediate", "MANDATORY", ""]


@st.composite
def policy_config_files(draw: st.DrawFn) -> bytes:
    doc: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(_POLICY_NAMES), max_size=4)):
        doc[name] = draw(st.one_of(
            st.sampled_from(_LEVELS),
            st.fixed_dictionaries({}, optional={
                "enforcementLevel": st.sampled_from(_LEVELS),
                "monthlyBudgetUsd": _scalars,
                "accelerators": st.lists(st.sampled_from(["H100", "L4", "h100", "H10O", "", "A100"]), max_size=3)
                | _values,
                "instanceTypes": _values,
            }),
            _values,
        ))
    text = json.dumps(doc, indent=1)  # NaN and Infinity come out as Python's json writes them
    return draw(st.one_of(st.just(text.encode()), mutated_text(text)))


# -- running ----------------------------------------------------------------------------------------------

@contextlib.contextmanager
def _hang_guard() -> Iterator[None]:
    def hung(signum: int, frame: Any) -> None:
        raise AssertionError(f"no answer after {HANG_S} s: a hang")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(HANG_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    """`servestack ARGV` in this process; any exception escaping main() fails the test (it would be a traceback)."""
    with _hang_guard():
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse rejects a flag: exit 2 with usage, no traceback
            code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    assert_clean(code, out, err, argv)
    return code, out + err


def assert_clean(code: int, out: str, err: str, argv: list[str]) -> None:
    assert code in (0, 1, 2), (argv, code, err[-2000:])
    assert "Traceback" not in out + err, err[-4000:]
    if code == 2:
        assert err.strip(), f"exit 2 without a message: {argv}"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="servestack-fuzz-") as tmp:
        yield Path(tmp)


def _project(root: Path, stack_bytes: bytes | None) -> Path:
    """A fresh copy of the repository's Pulumi project with `stack_bytes` as the dev stack file."""
    project = Path(tempfile.mkdtemp(dir=root))
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    shutil.copy(ROOT / "__main__.py", project / "__main__.py")
    stacks = project / "stacks"
    stacks.mkdir()
    if stack_bytes is not None:
        (stacks / "Pulumi.dev.yaml").write_bytes(stack_bytes)
    return project


# -- in-process verbs: many examples ---------------------------------------------------------------------


@fuzz_settings(150)
@given(spec=spec_files())
def test_plan(spec: bytes, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workdir / "spec.yaml"
    path.write_bytes(spec)
    code, _ = run_cli(capsys, ["plan", str(path), "--json"])
    if code == 0:
        assert path.read_bytes() == spec


@fuzz_settings(40)
@given(spec=spec_files(), stack=stack_files(), env=st.sampled_from(["dev", "prod", "Dev", "x" * 8000, "dev..1"]))
def test_plan_write(spec: bytes, stack: bytes, env: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(workdir, stack)
    (project / "stacks" / "Pulumi.prod.yaml").write_bytes(stack)
    path = project / "spec.yaml"
    path.write_bytes(spec)
    run_cli(capsys, ["plan", str(path), "--env", env, "--write", "--force", "-C", str(project)])
    leftovers = [p.name for p in (project / "stacks").iterdir() if p.name.endswith(".tmp")]
    assert not leftovers


@fuzz_settings(50)
@given(
    spec=spec_files(),
    accelerator=st.sampled_from(["L4", "H100", "h100", "H10O", "", "x" * 500]),
    count=st.sampled_from(["1", "8", "0", "-1", "1e9", "nan", "99999999999999999999"]),
)
def test_estimate(spec: bytes, accelerator: str, count: str, workdir: Path,
                  capsys: pytest.CaptureFixture[str]) -> None:
    path = workdir / "estimate.yaml"
    path.write_bytes(spec)
    run_cli(capsys, ["estimate", str(path), "--accelerator", accelerator, "--count", count, "--json"])


@fuzz_settings(30)
@given(
    cloud=st.sampled_from([None, "aws", "gcp", "azure", ""]),
    accelerator=st.sampled_from([None, "L4", "l4", "H10O", "\x00", "x" * 2000]),
    region=st.one_of(st.none(), st.sampled_from(["us-east-1", "mars-1"]), st.text(max_size=10)),
)
def test_catalog(cloud: str | None, accelerator: str | None, region: str | None,
                 capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["catalog", "--json"]
    for flag, value in (("--cloud", cloud), ("--accelerator", accelerator), ("--region", region)):
        if value is not None:
            argv += [flag, value]
    run_cli(capsys, argv)


def _read_config_as_the_program_does(project: Path) -> None:
    """The reading half of preview/check, in-process: stack file -> SDK strings -> the stack config model."""
    cfg = load_stack_config(load_project(project), "dev")
    values: dict[str, Any] = {}
    for full, raw in cfg.values.items():
        namespace, _, key = full.partition(":")
        if namespace == "servestack" and key not in ("generated", "hfTokenSecret"):
            try:
                values[key] = json.loads(raw) if key in ("workload", "deployment", "tags",
                                                          "publicEndpointCidrs", "budgetMonthlyUsd") else raw
            except json.JSONDecodeError:
                values[key] = raw
        elif full == "gcp:project":
            values[full] = raw
    DeploymentConfig.from_mapping(values)


@fuzz_settings(150)
@given(stack=stack_files())
def test_stack_file_reading(stack: bytes, workdir: Path) -> None:
    project = _project(workdir, stack)
    with _hang_guard(), contextlib.suppress(ServestackError):
        _read_config_as_the_program_does(project)


@fuzz_settings(150)
@given(config=policy_config_files())
def test_policy_config_reading(config: bytes, workdir: Path) -> None:
    path = workdir / "policy.json"
    path.write_bytes(config)
    with _hang_guard(), contextlib.suppress(ServestackError):
        load_policy_config(path)


# -- subprocess verbs: the program runs, so few examples ----------------------------------------------------


def run_subprocess(argv: list[str], cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    try:
        proc = subprocess.run([sys.executable, "-m", "servestack.cli", *argv], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=HANG_S * 3, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"servestack {' '.join(argv[:3])} did not finish in {HANG_S * 3} s: a hang")
    assert_clean(proc.returncode, proc.stdout, proc.stderr, argv)
    return proc.returncode, proc.stdout + proc.stderr


@fuzz_settings(3)
@given(stack=stack_files())
def test_preview(stack: bytes, workdir: Path) -> None:
    project = _project(workdir, stack)
    run_subprocess(["preview", "-s", "dev", "--json"], project)


@fuzz_settings(3)
@given(stack=stack_files(), config=policy_config_files())
def test_check(stack: bytes, config: bytes, workdir: Path) -> None:
    project = _project(workdir, stack)
    (project / "policy.json").write_bytes(config)
    run_subprocess(["check", "-s", "dev", "--policy-config", "policy.json", "--json"], project)


@pytest.mark.parametrize(
    "hostile",
    [_alias_bomb(12), f"config:\n  a: {_deep(5000)}\n", "config:\n  a: 1\n  a: 2\n", "\udcff"],
    ids=["alias-bomb", "deep", "duplicate-key", "binary"],
)
def test_hostile_stack_files_end_preview_check_and_cost_diff_with_exit_2(hostile: str, workdir: Path) -> None:
    project = _project(workdir, hostile.encode("utf-8", "surrogateescape"))
    for argv in (["preview", "-s", "dev"], ["check", "-s", "dev"]):
        code, text = run_subprocess(argv, project)
        assert code == 2 and "Pulumi.dev.yaml" in text
    # The base revision has no stack yet; the change adds the hostile one.
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "Pulumi.yaml", "__main__.py"], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=project, check=True)
    code, text = run_subprocess(["cost", "diff", "--base", "HEAD", "--markdown"], project)
    assert code == 2 and "Pulumi.dev.yaml" in text
