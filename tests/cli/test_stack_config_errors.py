"""Stack config with several problems reports every one, a misspelt key with its did-you-mean first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servestack.components.config import DeploymentConfig
from servestack.errors import ConfigError
from servestack.yamlio import load_yaml_file

STACK = Path(__file__).resolve().parents[1] / "components" / "fixtures" / "Pulumi.aws-spot.yaml"


def _mapping() -> dict[str, Any]:
    raw = load_yaml_file(STACK, "stack file")["config"]
    return {(k.partition(":")[2] if k.startswith("servestack:") else k): v for k, v in raw.items()}


def test_unknown_key_next_to_a_missing_one_reports_both_typo_first() -> None:
    data = _mapping()
    data["wrkload"] = data.pop("workload")
    with pytest.raises(ConfigError) as err:
        DeploymentConfig.from_mapping(data)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("servestack:wrkload: unknown key (did you mean 'workload'?)")
    assert any(line.strip().startswith("servestack:workload: missing") for line in lines[1:])


def test_every_invalid_value_is_reported() -> None:
    data: dict[str, Any] = json.loads(json.dumps(_mapping()))
    data["deployment"]["pricingBase"] = "cheap"
    data["deployment"]["unknownField"] = 1
    data["environment"] = "qa"
    with pytest.raises(ConfigError) as err:
        DeploymentConfig.from_mapping(data)
    text = str(err.value)
    assert text.splitlines()[0].startswith("servestack:deployment.unknownField: unknown key")
    assert "servestack:deployment.pricingBase" in text and "servestack:environment" in text
