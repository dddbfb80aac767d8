"""Policy config files in the Pulumi CLI format, and the CLI's reconciliation order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from servestack.check.policy_config import (
    PolicyConfigEntry,
    load_policy_config,
    parse_policy_config,
    reconcile_policy_config,
)
from servestack.errors import ConfigError, SpecError


@dataclass(frozen=True)
class P:
    name: str
    enforcement: str
    config_schema: dict[str, Any] | None = None
    config_required: tuple[str, ...] = ()


BUDGET = P(
    "budget-monthly-ceiling",
    "mandatory",
    {"monthlyBudgetUsd": {"type": "number", "minimum": 0}, "headroom": {"type": "number", "default": 0.1}},
)
TAGS = P("required-tags", "advisory")


def test_string_value_is_a_level_and_object_carries_properties() -> None:
    cfg = parse_policy_config(
        {"all": "advisory", "budget-monthly-ceiling": {"enforcementLevel": "mandatory", "monthlyBudgetUsd": 5000}}
    )
    assert cfg["all"] == PolicyConfigEntry("advisory")
    assert cfg["budget-monthly-ceiling"] == PolicyConfigEntry("mandatory", {"monthlyBudgetUsd": 5000})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"all": "strict"}, "all.enforcementLevel"),
        ({"x": {"enforcementLevel": "MANDATORY"}}, "x.enforcementLevel"),
        ({"x": 3}, "x"),
        (["all"], "--policy-config"),
    ],
)
def test_bad_values_name_the_field(data: object, field: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_policy_config(data)
    assert field in err.value.field


def test_file_errors_are_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "c.json"
    bad.write_text("{all: mandatory}")
    with pytest.raises(ConfigError, match="line 1, column 2: not valid JSON"):
        load_policy_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_policy_config(tmp_path / "missing.json")
    good = tmp_path / "g.json"
    good.write_text(json.dumps({"required-tags": "mandatory"}))
    assert load_policy_config(good) == {"required-tags": PolicyConfigEntry("mandatory")}


def test_defaults_then_initial_then_file_with_all_before_named() -> None:
    initial = {
        "all": PolicyConfigEntry("advisory"),
        "budget-monthly-ceiling": PolicyConfigEntry(None, {"headroom": 0.2}),
    }
    file_cfg = {
        "all": PolicyConfigEntry("disabled"),
        "required-tags": PolicyConfigEntry("mandatory"),
        "budget-monthly-ceiling": PolicyConfigEntry(None, {"monthlyBudgetUsd": 100}),
        "other-packs-policy": PolicyConfigEntry("mandatory"),
    }
    out = reconcile_policy_config("budget", [BUDGET, TAGS], initial, file_cfg)
    assert out == {
        "budget-monthly-ceiling": PolicyConfigEntry("disabled", {"headroom": 0.2, "monthlyBudgetUsd": 100}),
        "required-tags": PolicyConfigEntry("mandatory", None),
    }


def test_no_config_keeps_each_policy_level_and_schema_default() -> None:
    out = reconcile_policy_config("budget", [BUDGET, TAGS], {}, {})
    assert out["budget-monthly-ceiling"] == PolicyConfigEntry("mandatory", {"headroom": 0.1})
    assert out["required-tags"] == PolicyConfigEntry("advisory", None)


def test_properties_are_validated_against_the_policy_schema() -> None:
    with pytest.raises(SpecError) as err:
        reconcile_policy_config(
            "budget", [BUDGET], {}, {"budget-monthly-ceiling": PolicyConfigEntry(None, {"monthlyBudgetUsd": -1})}
        )
    assert err.value.field.endswith("budget-monthly-ceiling.monthlyBudgetUsd")
    assert err.value.value == -1


def test_misspelt_setting_is_refused_with_the_near_one() -> None:
    # The Pulumi CLI would ignore it and keep the default budget in force.
    with pytest.raises(SpecError) as err:
        reconcile_policy_config(
            "budget", [BUDGET], {}, {"budget-monthly-ceiling": PolicyConfigEntry(None, {"monthlyBudgetUSD": 10})}
        )
    assert err.value.field.endswith("budget-monthly-ceiling.monthlyBudgetUSD")
    assert "did you mean 'monthlyBudgetUsd'" in str(err.value)
    with pytest.raises(SpecError, match="takes only enforcementLevel"):
        reconcile_policy_config("tags", [TAGS], {}, {"required-tags": PolicyConfigEntry(None, {"x": 1})})


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_name_their_field(literal: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"budget-monthly-ceiling": {"monthlyBudgetUsd": ' + literal + '}}', encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_policy_config(path)
    assert err.value.field.endswith("budget-monthly-ceiling.monthlyBudgetUsd")
    assert "finite" in str(err.value)


# -- hostile policy config files ------------------------------------------------------------------------------


def test_an_empty_file_is_an_error_as_in_the_pulumi_cli(tmp_path: Path) -> None:
    empty = tmp_path / "e.json"
    empty.write_text("  \n")
    with pytest.raises(SpecError, match="omit --policy-config"):
        load_policy_config(empty)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"all": "advisory",\n "all": "disabled"}', "line 2: duplicate key 'all'"),
        (b"[" * 3000 + b"]" * 3000, "nested deeper than"),
        (b'{"all": "mand\xe9tory"}', "line 1: is not UTF-8 text"),
        (b"\x00\x01\x02", "not valid JSON"),
    ],
    ids=["duplicate-key", "deep", "latin-1", "binary"],
)
def test_hostile_files_name_the_file(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "policy.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=fragment) as err:
        load_policy_config(path)
    assert "policy.json" in str(err.value)


def test_unknown_accelerator_ids_are_input_errors_with_the_near_id(tmp_path: Path) -> None:
    # Otherwise every GPU node group the pack judges reports a "violation" for the typo.
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"allowed-accelerators": {"accelerators": ["L4", "H10O"]}}))
    with pytest.raises(SpecError) as err:
        load_policy_config(path)
    assert err.value.field.endswith("allowed-accelerators.accelerators[1]")
    assert err.value.value == "H10O" and "did you mean 'H100'" in str(err.value)


def test_known_accelerator_ids_and_aliases_are_accepted() -> None:
    cfg = parse_policy_config({"allowed-accelerators": {"accelerators": ["l4", "H100"]}})
    assert cfg["allowed-accelerators"].properties == {"accelerators": ["l4", "H100"]}


def test_accelerators_must_be_a_list_of_ids() -> None:
    with pytest.raises(SpecError, match="a list of accelerator ids"):
        parse_policy_config({"allowed-accelerators": {"accelerators": "H100"}})
