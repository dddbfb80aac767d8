"""The analyzer client against a real pack process (tests/check/fixtures/tinypack), as the Pulumi CLI drives it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from servestack.check.analyzer import UNKNOWN, AnalyzerResource, PolicyPackProcess, secret
from servestack.check.policy_config import PolicyConfigEntry
from servestack.errors import ConfigError

TINY = Path(__file__).parent / "fixtures" / "tinypack"
STACK = "urn:pulumi:dev::tinyproj::pulumi:pulumi:Stack"


def bucket(name: str, acl: object) -> AnalyzerResource:
    return AnalyzerResource(
        urn=f"{STACK}$test:index:Bucket::{name}", type="test:index:Bucket", name=name, properties={"acl": acl}
    )


def disk(size: float) -> AnalyzerResource:
    return AnalyzerResource(
        urn=f"{STACK}$test:index:Disk::disk", type="test:index:Disk", name="disk", properties={"size": size}
    )


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackProcess]:
    with PolicyPackProcess(TINY, project="tinyproj", stack="dev", config={"tiny:maxBuckets": "1"}) as p:
        p.configure_stack()
        yield p


def test_pack_reports_its_policies_with_default_levels(pack: PolicyPackProcess) -> None:
    info = pack.get_info()
    assert info.name == "tiny"
    assert info.version == "0.1.0"  # PulumiPolicy.yaml wins over the SDK's 0.0.1, as in the CLI
    levels = {p.name: p.enforcement for p in info.policies}
    assert levels == {
        "tiny-allowed-sizes": "mandatory",
        "tiny-max-buckets": "advisory",
        "tiny-no-public-buckets": "mandatory",
    }


def test_mandatory_violation_names_policy_pack_and_resource(pack: PolicyPackProcess) -> None:
    pack.configure({})
    [d] = pack.analyze(bucket("public", "public-read"))
    assert (d.policy, d.pack, d.enforcement) == ("tiny-no-public-buckets", "tiny", "mandatory")
    assert d.urn.endswith("::public")
    assert "bucket public is public" in d.message
    assert pack.analyze(bucket("private", "private")) == []


def test_unknown_value_is_an_advisory_diagnostic_not_a_failure(pack: PolicyPackProcess) -> None:
    pack.configure({})
    [d] = pack.analyze(bucket("later", UNKNOWN))
    assert d.enforcement == "advisory"
    assert "can't be known during preview" in d.message


def test_secret_values_reach_the_rule_unwrapped(pack: PolicyPackProcess) -> None:
    pack.configure({})
    assert pack.analyze(bucket("s", secret("public-read")))[0].policy == "tiny-no-public-buckets"


def test_stack_rule_reads_stack_config_from_the_environment(pack: PolicyPackProcess) -> None:
    pack.configure({})
    [d] = pack.analyze_stack([bucket("a", "private"), bucket("b", "private")])
    assert d.policy == "tiny-max-buckets" and d.urn == ""
    assert "exceed the stack limit 1" in d.message  # tiny:maxBuckets=1 came through PULUMI_CONFIG
    assert pack.analyze_stack([bucket("a", "private")]) == []


def test_policy_config_properties_and_schema_defaults(pack: PolicyPackProcess) -> None:
    sent = pack.configure({})
    assert sent["tiny-allowed-sizes"].properties == {"sizes": [10.0, 20.0]}  # schema default
    assert pack.analyze(disk(20)) == []
    pack.configure({"tiny-allowed-sizes": PolicyConfigEntry(properties={"sizes": [10]})})
    [d] = pack.analyze(disk(20))
    assert d.policy == "tiny-allowed-sizes" and "size 20.0 not in [10.0]" in d.message


def test_all_then_named_levels(pack: PolicyPackProcess) -> None:
    pack.configure({"all": PolicyConfigEntry("disabled")})
    assert pack.analyze(bucket("p", "public-read")) == []
    pack.configure({"all": PolicyConfigEntry("disabled"), "tiny-no-public-buckets": PolicyConfigEntry("advisory")})
    [d] = pack.analyze(bucket("p", "public-read"))
    assert d.enforcement == "advisory"
    pack.configure({"tiny-max-buckets": PolicyConfigEntry("mandatory")})
    [d] = pack.analyze_stack([bucket("a", "private"), bucket("b", "private")])
    assert d.enforcement == "mandatory"


def test_process_is_terminated_on_exit() -> None:
    with PolicyPackProcess(TINY, project="p", stack="s") as p:
        pid = p.pid
        assert pid is not None
        os.kill(pid, 0)  # alive while in use
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_pack_that_fails_to_start_is_a_config_error_with_its_stderr(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text("import no_such_module_for_servestack\n")
    with pytest.raises(ConfigError, match="no_such_module_for_servestack"), PolicyPackProcess(
        tmp_path, project="p", stack="s", startup_timeout_s=30
    ):
        pass


def test_not_a_pack_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="PulumiPolicy.yaml"):
        PolicyPackProcess(tmp_path, project="p", stack="s")
