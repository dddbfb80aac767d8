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
    with pytest.raises(ConfigError, match="not valid JSON at line 1"):
        load_policy_config(bad)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_policy_config(tmp_path / "missing.json")
    empty = tmp_path / "e.json"
    empty.write_text("  \n")
    assert load_policy_config(empty) == {}
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
