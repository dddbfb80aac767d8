"""Reading Pulumi.yaml and stack files the way the Pulumi CLI hands config to a Python program."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servestack.errors import ConfigError
from servestack.preview.project import SECRET_PLACEHOLDER, load_project, load_stack_config, resolve_stack


def make(tmp_path: Path, project_yaml: str, stacks: dict[str, str]) -> Path:
    (tmp_path / "Pulumi.yaml").write_text(project_yaml)
    (tmp_path / "__main__.py").write_text("")
    for name, text in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def test_bare_keys_join_the_project_namespace_and_values_become_sdk_strings(tmp_path: Path) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {
        "dev": "config:\n  size: 3\n  on: true\n  tags: {team: ml}\n  aws:region: us-east-2\n  infra:ratio: 0.5\n",
    })
    cfg = load_stack_config(load_project(d), "dev")
    assert cfg.values == {"infra:size": "3", "infra:on": "true", "infra:tags": json.dumps({"team": "ml"},
                          separators=(",", ":")), "aws:region": "us-east-2", "infra:ratio": "0.5"}
    assert cfg.secret_keys == frozenset()


def test_secure_values_are_marked_secret_at_any_depth_and_never_passed_on(tmp_path: Path) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {
        "dev": "config:\n  token:\n    secure: v1:abc:def\n  db:\n    user: app\n    password:\n      secure: v1:x:y\n",
    })
    cfg = load_stack_config(load_project(d), "dev")
    assert cfg.secret_keys == {"infra:token", "infra:db"}
    assert cfg.values["infra:token"] == SECRET_PLACEHOLDER
    assert json.loads(cfg.values["infra:db"]) == {"user": "app", "password": SECRET_PLACEHOLDER}
    assert "v1:" not in json.dumps(cfg.values)


def test_project_config_defaults_and_declared_secrets(tmp_path: Path) -> None:
    d = make(tmp_path, (
        "name: infra\nruntime: {name: python, options: {toolchain: pip}}\nconfig:\n"
        "  replicas: {type: integer, default: 2}\n  apiKey: {type: string, secret: true}\n"
        "  aws:region: us-west-2\n"
    ), {"dev": "config:\n  infra:apiKey: plain-in-file\n"})
    cfg = load_stack_config(load_project(d), "dev")
    assert cfg.values["infra:replicas"] == "2" and cfg.values["aws:region"] == "us-west-2"
    assert "infra:apiKey" in cfg.secret_keys


def test_stack_config_dir_and_main_are_honoured(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "__main__.py").write_text("")
    (tmp_path / "Pulumi.yaml").write_text("name: infra\nruntime: python\nmain: src/\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.prod.yaml").write_text("config: {}\n")
    project = load_project(tmp_path)
    assert project.main == (tmp_path / "src").resolve()
    assert resolve_stack(project, None) == "prod"


def test_non_python_runtime_is_refused(tmp_path: Path) -> None:
    make(tmp_path, "name: infra\nruntime: nodejs\n", {})
    with pytest.raises(ConfigError, match="allowed: 'python'"):
        load_project(tmp_path)


def test_malformed_stack_file_names_the_file_and_line(tmp_path: Path) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {"dev": "config:\n  a: [1, 2\n"})
    with pytest.raises(ConfigError, match=r"Pulumi\.dev\.yaml, line 3, column 1: malformed YAML"):
        load_stack_config(load_project(d), "dev")


# -- hostile project and stack files --------------------------------------------------------------------------

BOMB = "  l0: &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 12)
)


@pytest.mark.parametrize(
    ("stack_text", "fragment"),
    [
        ("config:\n  a: " + "[" * 2000 + "]" * 2000 + "\n", "nested deeper than"),
        ("config:\n" + BOMB, "aliases expand to more than"),
        ("config:\n  aws:region: us-east-1\n  aws:region: eu-west-1\n", "duplicate key 'aws:region'"),
        ("config:\n  a: &a [*a]\n", "refers to the value that contains it"),
    ],
    ids=["deep", "alias-bomb", "duplicate-key", "self-alias"],
)
def test_hostile_stack_file_is_a_config_error_naming_the_file(tmp_path: Path, stack_text: str, fragment: str) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {"dev": stack_text})
    with pytest.raises(ConfigError, match=fragment) as err:
        load_stack_config(load_project(d), "dev")
    assert "Pulumi.dev.yaml" in str(err.value)


def test_binary_stack_file_and_project_file_are_config_errors(tmp_path: Path) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {})
    (d / "Pulumi.dev.yaml").write_bytes(b"config:\n  a: \xc3\x28\n")
    with pytest.raises(ConfigError, match=r"Pulumi\.dev\.yaml, line 2: is not UTF-8 text"):
        load_stack_config(load_project(d), "dev")
    (d / "Pulumi.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(ConfigError, match=r"Pulumi\.yaml, line 1: is not UTF-8 text"):
        load_project(d)


def test_deep_project_file_is_a_config_error(tmp_path: Path) -> None:
    make(tmp_path, "name: infra\nruntime: python\nconfig:\n  x: " + "{a: " * 1500 + "1" + "}" * 1500 + "\n", {})
    with pytest.raises(ConfigError, match=r"Pulumi\.yaml, line 4: nested deeper than"):
        load_project(tmp_path)


def test_a_directory_where_the_stack_file_should_be(tmp_path: Path) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {})
    (d / "Pulumi.dev.yaml").mkdir()
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_stack_config(load_project(d), "dev")


def test_a_file_where_the_stack_config_dir_should_be(tmp_path: Path) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\nstackConfigDir: stacks\n", {})
    (d / "stacks").write_text("not a directory\n")
    with pytest.raises(ConfigError, match="stackConfigDir 'stacks' is a file, not a directory"):
        load_project(d)


@pytest.mark.parametrize("stack", ["x" * 8000, "../../etc/passwd", "org/proj/dev", ""])
def test_stack_names_that_are_not_pulumi_names_are_refused(tmp_path: Path, stack: str) -> None:
    d = make(tmp_path, "name: infra\nruntime: python\n", {"dev": "config: {}\n"})
    project = load_project(d)
    with pytest.raises(ConfigError, match="stack name .* is not valid; allowed: 1-100 letters") as err:
        resolve_stack(project, stack)
    assert len(str(err.value)) < 400  # an 8,000-character name is not echoed back whole
    with pytest.raises(ConfigError, match="is not valid"):
        load_stack_config(project, stack)
