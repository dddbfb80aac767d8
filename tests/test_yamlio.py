"""The one reader of user YAML/JSON files: hostile documents are refused with the file and line, quickly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from servestack import yamlio
from servestack.errors import ConfigError, InputFileError, SpecError


def alias_bomb(levels: int = 12, fan_out: int = 9) -> str:
    """A few hundred bytes that expand to fan_out**levels values once every alias is written out."""
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan_out) + "]")
    return "\n".join(lines) + "\n"


def test_deep_flow_nesting_is_refused_at_the_bound_not_a_recursion_error() -> None:
    text = "config:\n  a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(InputFileError) as err:
        yamlio.parse_yaml(text, "deep.yaml", "stack file")
    assert f"nested deeper than {yamlio.MAX_DEPTH} levels" in str(err.value)
    assert err.value.line == 2 and "deep.yaml" in str(err.value)


def test_deep_block_nesting_is_refused() -> None:
    text = "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 1200))
    with pytest.raises(InputFileError, match="nested deeper than"):
        yamlio.parse_yaml(text, "deep.yaml")


def test_nesting_at_the_bound_is_read() -> None:
    depth = yamlio.MAX_DEPTH
    # The mapping, depth - 2 lists and the scalar: exactly MAX_DEPTH levels.
    data = yamlio.parse_yaml("a: " + "[" * (depth - 2) + "1" + "]" * (depth - 2), "ok.yaml")
    assert isinstance(data["a"], list)


def test_alias_bomb_is_refused_before_anything_expands_it() -> None:
    with pytest.raises(InputFileError, match="aliases expand to more than"):
        yamlio.parse_yaml(alias_bomb(), "bomb.yaml", "stack file")


def test_modest_aliases_are_still_read() -> None:
    data = yamlio.parse_yaml("base: &b {team: ml}\nx: *b\ny: {<<: *b, env: dev}\n", "ok.yaml")
    assert data == {"base": {"team": "ml"}, "x": {"team": "ml"}, "y": {"team": "ml", "env": "dev"}}


def test_chained_aliases_cannot_exceed_the_depth_bound() -> None:
    # Each level is shallow, but the aliases stack them 40 deep: 40 x 10 levels once expanded.
    text = "l0: &l0 " + "[" * 9 + "1" + "]" * 9 + "\n"
    text += "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 60))
    with pytest.raises(InputFileError, match="nested deeper than"):
        yamlio.parse_yaml(text, "chain.yaml")


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    with pytest.raises(InputFileError, match="refers to the value that contains it"):
        yamlio.parse_yaml("a: &a [1, *a]\n", "cycle.yaml")


def test_duplicate_key_names_the_key_and_both_lines() -> None:
    with pytest.raises(InputFileError) as err:
        yamlio.parse_yaml("name: a\nmodel: {id: x}\nname: b\n", "spec.yaml", "spec")
    assert err.value.line == 3
    assert "duplicate key 'name' (first given on line 1)" in str(err.value)


def test_nested_duplicate_key_is_refused_too() -> None:
    with pytest.raises(InputFileError, match="duplicate key 'id'"):
        yamlio.parse_yaml("model:\n  id: x\n  id: y\n", "spec.yaml")


def test_a_list_as_a_mapping_key_is_refused() -> None:
    with pytest.raises(InputFileError, match="keys are plain values"):
        yamlio.parse_yaml("? [a, b]\n: 1\n", "spec.yaml")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: " + "9" * 5000 + "\n", "a value cannot be read"),  # past Python's int-from-string limit
        ("a: 2026-02-30\n", "a value cannot be read"),
        ("a: !!python/object/apply:os.system [id]\n", "unsupported value"),
        ("a: b\0c\n", r"U\+0000 is not allowed"),
        ("a: [1, 2\n", "malformed YAML"),
    ],
    ids=["huge-int", "impossible-date", "python-tag", "nul-byte", "unclosed-list"],
)
def test_values_python_cannot_build_are_input_errors(text: str, fragment: str) -> None:
    with pytest.raises(InputFileError, match=fragment):
        yamlio.parse_yaml(text, "x.yaml")


def test_yaml_1_2_keeps_on_and_yes_as_strings() -> None:
    assert yamlio.parse_yaml("on: yes\n", "x.yaml") == {"on": "yes"}


def test_binary_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes(b"name: svc\nmodel: \xff\xfe\n")
    with pytest.raises(InputFileError) as err:
        yamlio.read_user_text(path, "spec")
    assert err.value.line == 2 and "not UTF-8 text (byte 0xff)" in str(err.value)
    # One error type for a bad file, whichever family the caller catches.
    assert isinstance(err.value, SpecError) and isinstance(err.value, ConfigError)


def test_a_byte_order_mark_is_not_part_of_the_text(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"\xef\xbb\xbfname: svc\n")
    assert yamlio.load_yaml_file(path, "spec") == {"name": "svc"}


def test_reading_stops_at_the_size_bound(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="larger than"):
        yamlio.read_user_text(Path("/dev/zero"), "spec")  # never ends: read only up to the bound


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "does not exist"),
        (lambda p: p.parent.joinpath("f").write_text("") and None, "parent of this path is a file"),
    ],
    ids=["directory", "missing", "file-as-parent"],
)
def test_paths_that_are_not_files_name_the_problem(tmp_path: Path, make: object, fragment: str) -> None:
    target = tmp_path / "x.yaml"
    make(target)  # type: ignore[operator]
    if fragment.startswith("parent"):
        target = tmp_path / "f" / "x.yaml"
    with pytest.raises(InputFileError, match=fragment):
        yamlio.read_user_text(target, "spec")


def test_json_duplicate_key_names_key_and_line() -> None:
    with pytest.raises(InputFileError) as err:
        yamlio.parse_json('{\n  "all": "advisory",\n  "all": "disabled"\n}\n', "p.json")
    assert "duplicate key 'all'" in str(err.value) and err.value.line == 3


def test_json_nesting_is_bounded() -> None:
    deep = json.dumps({"a": 1})
    for _ in range(3000):
        deep = "[" + deep + "]"
    with pytest.raises(InputFileError, match="nested deeper than"):
        yamlio.parse_json(deep, "p.json")
    with pytest.raises(InputFileError, match="nested deeper than"):
        yamlio.parse_json("[" * 100 + "]" * 100, "p.json")
