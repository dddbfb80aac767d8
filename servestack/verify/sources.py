"""What verify tests against: the workload's traffic and SLO, the served model name and the plan's estimate.

They come from a spec file, from a stack file (`stacks/Pulumi.<env>.yaml`, as `plan --write` wrote it), or
both: the spec file for everything it holds, the stack for what was deployed (accelerator, replicas).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servestack.errors import ConfigError, ServestackError, SpecError
from servestack.verify.report import Predicted, SloTargets

__all__ = ["Target", "StackFacts", "read_stack", "target_from_spec", "target_from_stack", "stack_endpoint",
           "stack_base_url", "stack_router_url", "predict"]


@dataclass(frozen=True, slots=True)
class StackFacts:
    """The parts of a stack file verify reads (camelCase mappings as written by `plan --write`)."""

    env: str
    path: Path
    environment: str | None
    workload: dict[str, Any]
    deployment: dict[str, Any]
    exposure: str = "internal"
    """servestack:exposure: internal (plain HTTP inside the network) or public (TLS)."""
    pool: str | None = None
    """On a stack with several servers (servestack:fleet), the pool serving the workload under test: its
    endpoint is `endpoints[pool]`. None on a one-workload stack (the `endpoint` output)."""
    pools: tuple[str, ...] = ()
    """Every pool of the workload under test on a fleet stack (several for a mixed fleet)."""
    classes: tuple[tuple[str, float, int, int], ...] = ()
    """A mixed fleet's request classes of the workload under test, (name, share, input_tokens, output_tokens)
    from its pools' `requestClasses`; empty otherwise."""


@dataclass(frozen=True, slots=True)
class Target:
    """The workload under test."""

    name: str
    """The workload name, which `plan --write` stacks serve as vLLM's --served-model-name."""
    avg_requests_per_s: float
    peak_requests_per_s: float
    input_tokens: int
    output_tokens: int
    slo: SloTargets
    spec: Any | None = None
    """The WorkloadSpec, when one could be built (needed for the estimate and --write-measured)."""
    classes: tuple[tuple[str, float, int, int], ...] = ()
    """(name, share, input_tokens, output_tokens) of each class of the spec's request mix; empty without one."""


def target_from_spec(path: str) -> Target:
    from servestack.workload import load_spec

    spec = load_spec(path)
    t = spec.traffic
    slo = SloTargets(spec.slo.ttft_ms_p95, spec.slo.tpot_ms_p95, spec.slo.latency_ms_p95)
    classes = tuple(t.classes()) if t.request_mix is not None else ()
    return Target(spec.name, t.avg_requests_per_s, t.peak_requests_per_s, t.avg_input_tokens, t.avg_output_tokens,
                  slo, spec, classes)


def read_stack(project_dir: Path, env: str, workload: str | None = None) -> StackFacts:
    """The stack file's workload block and deployment; ConfigError naming what is missing.

    A stack with several servers (servestack:workloads + servestack:fleet) needs `workload` (--workload) when it
    holds more than one workload; the facts are then that workload's block and its pool's deployment.
    """
    import yaml

    from servestack.generate import stack_file_path

    path = stack_file_path(project_dir, env)
    if not path.is_file():
        raise ConfigError(f"{path}: no stack file for -s {env}; run `servestack plan SPEC --env {env} --write` first")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError:
        raise ConfigError(f"{path}: malformed YAML; fix the stack file first") from None
    config = doc.get("config") if isinstance(doc, dict) else None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: no `config:` mapping")
    environment = config.get("servestack:environment")
    exposure = config.get("servestack:exposure", "internal")
    if exposure not in ("internal", "public"):
        raise ConfigError(f"{path}: servestack:exposure: {exposure!r} is not valid; allowed: internal, public")
    environment = environment if isinstance(environment, str) else None
    if "servestack:fleet" in config:
        return _fleet_facts(env, path, config, workload, environment, exposure)
    block = config.get("servestack:workload")
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: servestack:workload is missing; verify reads the traffic and SLO from it")
    if workload is not None and workload != block.get("name"):
        raise ConfigError(f"--workload: {workload!r} is not a workload of stack {env}; allowed: {block.get('name')}")
    deployment = config.get("servestack:deployment")
    return StackFacts(env, path, environment, block, deployment if isinstance(deployment, dict) else {}, exposure)


def _fleet_facts(env: str, path: Path, config: dict[str, Any], workload: str | None, environment: str | None,
                 exposure: str) -> StackFacts:
    """The facts of one workload of a stack with several servers."""
    blocks = config.get("servestack:workloads")
    fleet = config.get("servestack:fleet")
    servers = fleet.get("servers") if isinstance(fleet, dict) else None
    if not isinstance(blocks, list) or not isinstance(servers, list):
        raise ConfigError(f"{path}: servestack:workloads and servestack:fleet.servers must both be lists")
    named = {b["name"]: b for b in blocks if isinstance(b, dict) and isinstance(b.get("name"), str)}
    if workload is None:
        if len(named) != 1:
            raise ConfigError(f"-s {env}: the stack serves {len(named)} workloads; pass --workload NAME, one of: "
                              f"{', '.join(named)}")
        workload = next(iter(named))
    if workload not in named:
        raise ConfigError(f"--workload: {workload!r} is not a workload of stack {env}; allowed: {', '.join(named)}")
    mine = [s for s in servers if isinstance(s, dict) and s.get("workload") == workload]
    if not mine:
        raise ConfigError(f"{path}: servestack:fleet.servers: workload {workload!r} has no server; a multi-workload "
                          "stack serves each workload from at least one pool")
    pools = tuple(str(s.get("pool")) for s in mine)
    classes = tuple(
        (str(c["name"]), float(c["share"]), int(c["inputTokens"]), int(c["outputTokens"]))
        for s in mine for c in (s.get("requestClasses") or [])
        if isinstance(c, dict) and {"name", "share", "inputTokens", "outputTokens"} <= set(c)
    )
    # A mixed fleet serves one workload from several pools behind the router (the `router` output).
    deployment = mine[0].get("deployment") if len(mine) == 1 else None
    return StackFacts(env, path, environment, named[workload], deployment if isinstance(deployment, dict) else {},
                      exposure, pool=pools[0] if len(pools) == 1 else None, pools=pools,
                      classes=classes if len(pools) > 1 else ())


def _number(block: dict[str, Any], key: str, where: str) -> float:
    value = block.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}.{key}: {value!r} is not valid; a positive number is required")
    return float(value)


def target_from_stack(stack: StackFacts) -> Target:
    """The target from the stack's servestack:workload block (no spec file given)."""
    w = stack.workload
    where = "servestack:workload"
    name = w.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}.name: {name!r} is not valid; the workload name is required")
    traffic = w.get("traffic")
    if not isinstance(traffic, dict):
        raise ConfigError(f"{where}.traffic: missing; verify needs the workload's rates and token lengths")
    slo_block = w.get("slo") if isinstance(w.get("slo"), dict) else {}
    assert isinstance(slo_block, dict)

    def objective(key: str) -> float | None:
        return _number(slo_block, key, f"{where}.slo") if slo_block.get(key) is not None else None

    slo = SloTargets(objective("ttftMsP95"), objective("tpotMsP95"), objective("latencyMsP95"))
    t = f"{where}.traffic"
    return Target(
        name,
        _number(traffic, "avgRequestsPerS", t),
        _number(traffic, "peakRequestsPerS", t),
        int(_number(traffic, "avgInputTokens", t)),
        int(_number(traffic, "avgOutputTokens", t)),
        slo,
        _spec_from_stack(stack),
        stack.classes,
    )


def _spec_from_stack(stack: StackFacts) -> Any | None:
    """A WorkloadSpec rebuilt from the stack's workload block, for the estimate; None when it cannot be."""
    from pydantic import ValidationError

    from servestack.workload import WorkloadSpec

    w = stack.workload
    model = w.get("model") if isinstance(w.get("model"), dict) else {}
    assert isinstance(model, dict)
    if not isinstance(model.get("id"), str):
        return None  # architecture and measured blocks are abbreviated in the stack file
    traffic = w.get("traffic") or {}
    slo = w.get("slo") or {}
    try:
        return WorkloadSpec.model_validate({
            "name": w.get("name"),
            "model": {"id": model["id"], "precision": model.get("precision", "bf16"),
                      "max_context_tokens": model.get("maxContextTokens")},
            "traffic": {"peak_requests_per_s": traffic.get("peakRequestsPerS"),
                        "avg_requests_per_s": traffic.get("avgRequestsPerS"),
                        "avg_input_tokens": traffic.get("avgInputTokens"),
                        "avg_output_tokens": traffic.get("avgOutputTokens")},
            "slo": {"ttft_ms_p95": slo.get("ttftMsP95"), "tpot_ms_p95": slo.get("tpotMsP95"),
                    "latency_ms_p95": slo.get("latencyMsP95")},
        })
    except ValidationError:
        return None


_OUTPUT_TIMEOUT_S = 120


def stack_endpoint(project_dir: Path, env: str, pool: str | None = None) -> str:
    """The stack's `endpoint` output (`pulumi stack output endpoint -s ENV --json`, run in the project), or with
    `pool` (a stack with several servers) the pool's entry of its `endpoints` output.

    ConfigError (exit 2) when the Pulumi CLI is missing, does not answer, or the stack has no endpoint yet
    (not deployed, or the load balancer has no address), each saying to pass --endpoint URL instead.
    """
    output = "endpoint" if pool is None else "endpoints"
    value = _stack_output(project_dir, env, output)
    if pool is not None:
        if not isinstance(value, dict) or pool not in value:
            shown = ", ".join(map(str, value)) if isinstance(value, dict) else repr(value)
            raise ConfigError(f"-s {env}: the stack's `endpoints` output has no pool {pool!r} (it holds: {shown}); "
                              "run `pulumi up` or pass --endpoint URL")
        value = value[pool]
        output = f"endpoints.{pool}"
    return _address(env, output, value)


def stack_router_url(project_dir: Path, stack: StackFacts, workload: str) -> str:
    """The URL a mixed workload is served at: the `router` output's load balancer address and the workload's path
    (`pulumi stack output router -s ENV --json`); scheme and port follow `servestack:exposure`.

    ConfigError (exit 2) as for `stack_endpoint`, or when the router does not route `workload`."""
    env = stack.env
    value = _stack_output(project_dir, env, "router")
    paths = value.get("paths") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(paths, dict):
        raise ConfigError(f"-s {env}: the stack's `router` output is {value!r}, not the router's address and paths "
                          "(a stack deployed by an older servestack: run `pulumi up` again, or pass --endpoint URL)")
    if workload not in paths:
        raise ConfigError(f"-s {env}: the router does not route workload {workload!r} (it routes: "
                          f"{', '.join(map(str, paths))}); run `pulumi up` or pass --endpoint URL")
    host = _address(env, "router.address", value.get("address"))
    path = str(paths[workload]).rstrip("/")
    return f"{stack_base_url(stack, host)}{path}"


def _stack_output(project_dir: Path, env: str, output: str) -> Any:
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise ConfigError(
            f"-s {env}: the endpoint is a stack output and the Pulumi CLI is not installed here (not on PATH); "
            f"pass it with --endpoint URL (e.g. from `pulumi stack output {output}` where Pulumi runs)"
        )
    command = [pulumi, "stack", "output", output, "-s", env, "--json"]
    try:
        proc = subprocess.run(command, cwd=project_dir, capture_output=True, text=True,
                              timeout=_OUTPUT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"-s {env}: `pulumi stack output {output}` did not answer within {_OUTPUT_TIMEOUT_S} s; "
                          "pass --endpoint URL") from None
    except OSError as exc:
        raise ConfigError(f"-s {env}: {pulumi} could not run ({exc.strerror or exc}); pass --endpoint URL") from None
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        why = lines[-1].removeprefix("error: ") if lines else f"exit code {proc.returncode}"
        if "does not have output property" in why:
            raise ConfigError(f"-s {env}: the stack has no `{output}` output yet (run `pulumi up -s {env}` first); "
                              "pass --endpoint URL to test another server")
        raise ConfigError(f"-s {env}: `pulumi stack output {output}` failed: {why}; pass --endpoint URL")
    try:
        return json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        return proc.stdout.strip()  # an older CLI without --json prints the bare value


def _address(env: str, output: str, value: Any) -> str:
    if value is None or value == "":
        raise ConfigError(f"-s {env}: the stack's `{output}` output is empty: the load balancer has no address yet "
                          f"(see `pulumi stack output -s {env}`); wait for it or pass --endpoint URL")
    if not isinstance(value, str):
        raise ConfigError(f"-s {env}: the stack's `{output}` output is {value!r}, not a host name or URL; "
                          "pass --endpoint URL")
    return value.strip()


def stack_base_url(stack: StackFacts, endpoint: str) -> str:
    """A bare host from the `endpoint` output as the URL the load balancer serves: the scheme and port follow
    `servestack:exposure` (public stacks terminate TLS on 443, internal ones listen on plain HTTP on 80).
    An endpoint that already names its scheme is kept."""
    if "://" in endpoint:
        return endpoint
    return f"{'https' if stack.exposure == 'public' else 'http'}://{endpoint}"


def predict(target: Target, stack: StackFacts | None) -> tuple[Predicted | None, str | None]:
    """The plan's estimate for what is under test, or (None, why there is none).

    A stack's deployment that carries its own estimate (ttftMs/tpotMs, top level or under `estimate`) wins.
    Otherwise the spec is planned as `servestack plan` would (for the stack's environment kind), and the
    candidate that matches the deployed accelerator, instance type and tensor-parallel degree is used; without
    a stack, the chosen candidate.
    """
    if stack is not None:
        carried = stack.deployment.get("estimate")
        est = carried if isinstance(carried, dict) else stack.deployment
        if isinstance(est.get("ttftMs"), (int, float)) or isinstance(est.get("tpotMs"), (int, float)):
            return Predicted("stack deployment", _num(est.get("ttftMs")), _num(est.get("tpotMs"))), None
    if target.spec is None:
        return None, "no spec to plan from (the stack's model is not a built-in id); pass the SPEC file"
    from servestack.catalog import load_catalog
    from servestack.contract.environment import spec_for_environment
    from servestack.selector import plan

    spec = target.spec
    if stack is not None and stack.environment in ("dev", "staging", "prod"):
        spec = spec_for_environment(spec, stack.environment)
    try:
        result = plan(spec, load_catalog(), top=1_000)
    except ServestackError as exc:
        return None, f"the spec does not plan: {exc}"
    if not result.candidates:
        return None, f"the spec is infeasible ({result.binding_constraint}); no estimate"
    chosen = result.candidates[0]
    source = "plan: chosen stack"
    if stack is not None and stack.deployment:
        d = stack.deployment
        for c in result.candidates:
            if (c.accelerator == d.get("accelerator") and c.instance_type == d.get("instanceType")
                    and c.layout.tensor_parallel == d.get("tensorParallel")):
                chosen, source = c, "plan: candidate matching the stack's deployment"
                break
    p = chosen.performance
    layout = f"{chosen.accelerator} TP{chosen.layout.tensor_parallel}"
    where = f"{chosen.cloud}/{chosen.region} {chosen.instance_type} {layout}"
    classes = [(c.name, round(c.ttft_ms, 3), round(c.tpot_ms, 3)) for c in p.classes]
    if result.mixed is not None and (stack is None or not stack.deployment):
        # A mixed plan serves each class on its own pool (behind the router): each class's estimate is its pool's.
        classes = [(c.name, round(c.ttft_ms, 3), round(c.tpot_ms, 3))
                   for pool in result.mixed.pools for c in pool.candidate.performance.classes
                   if c.name in pool.classes]
    return Predicted(f"{source} ({where})", round(p.ttft_ms, 3), round(p.tpot_ms, 3) if p.tpot_ms else None,
                     round(p.output_tokens_per_s, 3), p.weights_gib, tuple(classes)), None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def check_positive(flag: str, value: float, allow_zero: bool = False) -> float:
    """A numeric flag: positive (or non-negative), finite; SpecError naming the flag otherwise."""
    import math

    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise SpecError(flag, value, "a non-negative number of seconds" if allow_zero else "a positive number")
    return value
