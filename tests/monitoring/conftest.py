from __future__ import annotations

from pathlib import Path

import pytest

from servestack.components.config import DeploymentConfig
from servestack.monitoring.targets import stack_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", params=["prod", "dev"])
def committed(request: pytest.FixtureRequest) -> DeploymentConfig:
    """The committed stacks' validated config (every monitoring test runs on both)."""
    return stack_config(ROOT, str(request.param))


def with_slo(cfg: DeploymentConfig, **slo: float | None) -> DeploymentConfig:
    """The config with its workload's SLO block replaced."""
    return cfg.model_copy(update={"workload": cfg.workload.model_copy(update={"slo": dict(slo)})})
