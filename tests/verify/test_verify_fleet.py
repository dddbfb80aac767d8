"""verify -s ENV on a stack serving several workloads (servestack:workloads + servestack:fleet, from two real
plans): --workload picks the workload, its pool's entry of the `endpoints` output is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_openai import FakeOpenAI
from test_stack_endpoint import FAST, calls, fake_pulumi, run

from servestack.cli import main
from tests.components.fleet_stacks import AWS_PAIR, ROOT, fleet_stack, plan_pair, write_project


@pytest.fixture(scope="module")
def fleet_config() -> dict[str, Any]:
    config = fleet_stack(plan_pair(AWS_PAIR))
    for block in config["servestack:workloads"]:
        # Small requests keep the fake server's runs short; the SLO is what the fake meets.
        block["traffic"].update(avgInputTokens=30, avgOutputTokens=6)
        block["slo"] = {"ttftMsP95": 1500, "tpotMsP95": 100}
    return config


def project(tmp_path: Path, config: dict[str, Any]) -> Path:
    proj = tmp_path / "proj"
    proj.mkdir()
    return write_project(proj, "prod", config)


def test_several_workloads_need_the_workload_flag(tmp_path: Path, fleet_config: dict[str, Any],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, fleet_config)
    code = main(["verify", "-s", "prod", "-C", str(proj), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "--workload" in err and "chat-70b" in err and "summarize-8b" in err, err
    assert "Traceback" not in err
    code = main(["verify", "-s", "prod", "-C", str(proj), "--workload", "nope", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "'nope'" in err and "chat-70b, summarize-8b" in err, err


def test_the_workloads_pool_endpoint_is_loaded(fake: FakeOpenAI, tmp_path: Path, fleet_config: dict[str, Any],
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, fleet_config)
    endpoints = {"chat-70b": "10.255.255.1", "summarize-8b": f"127.0.0.1:{fake.port}"}
    log = fake_pulumi(tmp_path, monkeypatch, stdout=json.dumps(endpoints) + "\n")
    code, doc, err = run(capsys, "-s", "prod", "-C", str(proj), "--workload", "summarize-8b", *FAST)
    assert code == 0, err
    assert calls(log) == [{"argv": ["stack", "output", "endpoints", "-s", "prod", "--json"], "cwd": str(proj)}]
    assert fake.bodies and {b["model"] for b in fake.bodies} == {"summarize-8b"}
    assert doc["slo"]["ttft_ms_p95"]["target"] == 1500


def test_a_pool_missing_from_the_endpoints_output_exits_2(tmp_path: Path, fleet_config: dict[str, Any],
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    proj = project(tmp_path, fleet_config)
    fake_pulumi(tmp_path, monkeypatch, stdout=json.dumps({"chat-70b": "10.255.255.1"}) + "\n")
    code = main(["verify", "-s", "prod", "-C", str(proj), "--workload", "summarize-8b", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "no pool 'summarize-8b'" in err and "chat-70b" in err, err


def _mixed_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    proj = tmp_path / "mixed"
    proj.mkdir()
    (proj / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    assert main(["plan", str(ROOT / "examples" / "mixed-fleet-7b.yaml"), "--env", "prod", "--write", "-C", str(proj),
                 "--api-cidr", "203.0.113.0/24"]) == 0
    capsys.readouterr()
    name = yaml.safe_load((proj / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["servestack:workloads"][0][
        "name"]
    return proj, str(name)


def test_a_mixed_workload_is_loaded_through_the_router(fake: FakeOpenAI, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    proj, name = _mixed_project(tmp_path, capsys)
    router = {"address": f"127.0.0.1:{fake.port}", "port": 80, "paths": {name: "/"}}
    log = fake_pulumi(tmp_path, monkeypatch, stdout=json.dumps(router) + "\n")
    code, doc, err = run(capsys, "-s", "prod", "-C", str(proj), *FAST)
    assert code in (0, 1), err
    assert calls(log) == [{"argv": ["stack", "output", "router", "-s", "prod", "--json"], "cwd": str(proj)}]
    assert fake.bodies and {b["model"] for b in fake.bodies} == {name}
    assert set(fake.paths) == {"/v1/completions"}


@pytest.mark.parametrize(("exposure", "path", "url"), [
    ("internal", "/chat", "http://lb.example.internal/chat"),
    ("public", "/", "https://llm.example.com"),
])
def test_the_router_url_joins_the_address_and_the_workloads_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exposure: str, path: str, url: str
) -> None:
    from servestack.verify.sources import StackFacts, stack_router_url

    address = "lb.example.internal" if exposure == "internal" else "llm.example.com"
    fake_pulumi(tmp_path, monkeypatch, stdout=json.dumps({"address": address, "paths": {"chat": path}}) + "\n")
    facts = StackFacts("prod", tmp_path / "s.yaml", "prod", {}, {}, exposure, pools=("a", "b"))
    assert stack_router_url(tmp_path, facts, "chat") == url


@pytest.mark.parametrize(("router", "message"), [
    ({"address": "lb", "paths": {"other": "/other"}}, "does not route workload"),
    ({"address": "", "paths": {"WORKLOAD": "/"}}, "`router.address` output is empty"),
    ({"service": "envoy-gateway-system/x", "port": 80}, "not the router's address and paths"),
])
def test_a_router_output_without_the_workload_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], router: dict[str, Any],
                                                      message: str) -> None:
    proj, name = _mixed_project(tmp_path, capsys)
    text = json.dumps(router).replace("WORKLOAD", name)
    fake_pulumi(tmp_path, monkeypatch, stdout=text + "\n")
    code = main(["verify", "-s", "prod", "-C", str(proj), *FAST])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "--endpoint" in err and "Traceback" not in err, err


def test_a_mixed_workload_loads_its_request_classes(fake: FakeOpenAI, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    proj, _ = _mixed_project(tmp_path, capsys)
    servers = yaml.safe_load((proj / "stacks" / "Pulumi.prod.yaml").read_text())["config"]["servestack:fleet"][
        "servers"]
    names = {c["name"] for s in servers for c in s["requestClasses"]}
    # The router's address given by hand: the load mixes the pools' request classes by their shares.
    code = main(["verify", "-s", "prod", "-C", str(proj), "--endpoint", fake.base_url, "--rate", "20",
                 "--duration", "1.0", "--warmup", "0.2", "--timeout", "5", "--json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    doc = json.loads(out)
    assert names <= set(doc.get("classes", {})), doc.get("classes")
