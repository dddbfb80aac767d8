"""What the real engine would see, the offline engine sees too: YAML children, secrets, options, blind spots."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from servestack.check import central_pack_dirs, run_check
from servestack.preview import preview_json, run_preview

_MANIFEST = """\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: serving
spec:
  type: LoadBalancer
  ports:
    - port: 80
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 1
"""


def _project(tmp_path: Path, program: str, config: str = "") -> Path:
    project = tmp_path / "fidelity"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: fidelity\nruntime: python\n")
    (project / "Pulumi.dev.yaml").write_text("config:\n  servestack:budgetMonthlyUsd: 1000\n" + config)
    (project / "manifest.yaml").write_text(_MANIFEST)
    (project / "__main__.py").write_text(textwrap.dedent(program))
    return project


@pytest.mark.parametrize(
    ("component", "construct"),
    [
        ("kubernetes:yaml:ConfigFile", 'k8s.yaml.ConfigFile("m", file="manifest.yaml")'),
        ("kubernetes:yaml:ConfigGroup", 'k8s.yaml.ConfigGroup("m", yaml=[open("manifest.yaml").read()])'),
        ("kubernetes:yaml/v2:ConfigGroup", 'ConfigGroup("m", files=["manifest*.yaml"])'),
        ("kubernetes:yaml/v2:ConfigFile", 'ConfigFile("m", file="manifest.yaml")'),
        ("kubernetes:yaml/v2:ConfigGroup", 'ConfigGroup("m", yaml=open("manifest.yaml").read())'),
    ],
)
def test_yaml_children_register_under_their_component(tmp_path: Path, component: str, construct: str) -> None:
    project = _project(tmp_path, f"""
        import pulumi_kubernetes as k8s
        from pulumi_kubernetes.yaml.v2 import ConfigFile, ConfigGroup
        {construct}
        """)
    result = run_preview(project, "dev")
    parent = next(r for r in result.resources if r.type == component)
    children = {r.type: r for r in result.resources if r.parent == parent.urn}
    assert set(children) == {"kubernetes:core/v1:Service", "kubernetes:apps/v1:Deployment"}
    assert children["kubernetes:core/v1:Service"].inputs["spec"]["type"] == "LoadBalancer"
    assert result.unevaluated == []


def test_a_public_load_balancer_from_yaml_is_judged(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        from pulumi_kubernetes.yaml.v2 import ConfigGroup
        ConfigGroup("m", files=["manifest.yaml"])
        """)
    with_guardrails = run_check(project, "dev", packs=[central_pack_dirs(tmp_path / "packs")[1]])
    hits = [v for v in with_guardrails.mandatory if v.policy == "kubernetes-load-balancer-internal"]
    assert len(hits) == 1 and hits[0].urn is not None and hits[0].urn.endswith("::m:serving/web")


def test_secret_values_reach_the_policies_but_never_the_output(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        import pulumi
        import pulumi_kubernetes as k8s
        k8s.core.v1.Service("hidden", spec=pulumi.Output.secret({"type": "LoadBalancer", "ports": [{"port": 80}]}))
        pulumi.export("token", pulumi.Output.secret("s3cr3t-value"))
        """)
    preview = run_preview(project, "dev")
    document = json.dumps(preview_json(preview))
    assert "LoadBalancer" not in document and "s3cr3t-value" not in document
    assert preview.resources[0].inputs["spec"] == "[secret]" and preview.outputs["token"] == "[secret]"

    result = run_check(project, "dev", packs=[central_pack_dirs(tmp_path / "packs")[1]])
    # Judged on the plain value: the Service is internet-facing and has no TLS.
    assert sorted(v.policy for v in result.mandatory) == ["kubernetes-load-balancer-internal",
                                                          "kubernetes-load-balancer-tls"]
    assert "s3cr3t-value" not in json.dumps(result.to_json())


_HELM = """
    import pulumi_kubernetes as k8s
    k8s.helm.v3.Release("ingress", chart="ingress-nginx", repository_opts={"repo": "https://charts.example"})
    k8s.helm.v3.Chart("legacy", k8s.helm.v3.ChartOpts(chart="nginx", fetch_opts={"repo": "https://charts.example"}))
    """


def test_helm_is_listed_as_unevaluated_and_strict_fails_on_it(tmp_path: Path) -> None:
    project = _project(tmp_path, _HELM)
    preview = run_preview(project, "dev")
    doc = preview_json(preview)
    assert {(u["type"], bool(u["urn"])) for u in doc["unevaluated"]} == {
        ("kubernetes:helm.sh/v3:Release", True),
        ("kubernetes:helm:template", False),
    }
    assert all(u["reason"] for u in doc["unevaluated"])
    release = next(u for u in doc["unevaluated"] if u["type"] == "kubernetes:helm.sh/v3:Release")
    assert release["urn"].endswith("::ingress")

    packs = [central_pack_dirs(tmp_path / "packs")[1]]
    lenient = run_check(project, "dev", packs=packs)
    assert lenient.passed and len(lenient.to_json()["unevaluated"]) == 2
    strict = run_check(project, "dev", packs=packs, strict=True)
    assert not strict.passed and strict.to_json()["strict"] is True

    proc = subprocess.run(
        [sys.executable, "-m", "servestack.cli", "check", "-C", str(project), "-s", "dev", "--strict"],
        capture_output=True, text=True, check=False, timeout=240,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Not evaluated offline" in proc.stdout and "unevaluated resources (--strict)" in proc.stdout


_OPTIONS_PACK = """
import json
from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

def _show(args, report_violation):
    if args.name == "timed":
        o = args.opts
        report_violation(json.dumps({
            "create": o.custom_timeouts.create_seconds, "protect": o.protect,
            "ignore": list(o.ignore_changes), "parent": o.parent,
            "dbr": o.delete_before_replace, "secretOutputs": list(o.additional_secret_outputs),
        }))

PolicyPack(name="opts", enforcement_level=EnforcementLevel.ADVISORY,
           policies=[ResourceValidationPolicy(name="show-options", description="reports opts", validate=_show)])
"""


def test_resource_options_reach_the_preview_json_and_the_policies(tmp_path: Path) -> None:
    project = _project(tmp_path, """
        import pulumi
        first = pulumi.CustomResource("test:index:Thing", "first", {})
        pulumi.CustomResource("test:index:Thing", "timed", {}, opts=pulumi.ResourceOptions(
            custom_timeouts=pulumi.CustomTimeouts(create="45m", delete="1h30m"),
            depends_on=[first], protect=True, ignore_changes=["size"], delete_before_replace=True,
            additional_secret_outputs=["password"], aliases=[pulumi.Alias(name="old-name")],
        ))
        """)
    preview = run_preview(project, "dev")
    timed = next(r for r in preview_json(preview)["resources"] if r["name"] == "timed")
    first_urn = next(r.urn for r in preview.resources if r.name == "first")
    opts = timed["options"]
    assert opts["customTimeouts"] == {"create": "45m", "delete": "1h30m"}
    assert opts["dependsOn"] == [first_urn] and timed["dependencies"] == [first_urn]
    assert opts["protect"] is True and opts["ignoreChanges"] == ["size"] and opts["deleteBeforeReplace"] is True
    assert opts["additionalSecretOutputs"] == ["password"]
    assert opts["aliases"] == [first_urn.replace("::first", "::old-name")]

    pack = tmp_path / "optspack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("description: opts\nversion: 0.0.1\nruntime: python\n")
    (pack / "__main__.py").write_text(_OPTIONS_PACK)
    result = run_check(project, "dev", packs=[pack])
    seen = json.loads(next(v.message for v in result.violations if v.policy == "show-options").splitlines()[-1])
    assert seen == {
        "create": 2700.0, "protect": True, "ignore": ["size"], "parent": preview.stack_urn,
        "dbr": True, "secretOutputs": ["password"],
    }


@pytest.mark.parametrize("register", [
    'pulumi.CustomResource("test:index:Bucket", "b", {"acl": "public-read"}, '
    "opts=pulumi.ResourceOptions(transforms=[private]))",
    'pulumi.runtime.register_resource_transform(private)\n'
    'pulumi.CustomResource("test:index:Bucket", "b", {"acl": "public-read"})',
])
def test_a_program_with_transforms_fails_instead_of_being_judged_without_them(tmp_path: Path, register: str) -> None:
    from servestack.preview import ProgramError

    transform = (
        "def private(args):\n"
        "    props = {**args.props, 'acl': 'private'}\n"
        "    return pulumi.ResourceTransformResult(props=props, opts=args.opts)\n"
    )
    project = _project(tmp_path, "import pulumi\n" + transform + register + "\n")
    with pytest.raises(ProgramError, match="offline engine does not run transforms"):
        run_preview(project, "dev")


def test_two_resources_with_one_urn_fail_as_under_the_engine(tmp_path: Path) -> None:
    from servestack.preview import ProgramError

    project = _project(tmp_path, """
        import pulumi
        pulumi.CustomResource("test:index:Bucket", "same", {"acl": "private"})
        pulumi.CustomResource("test:index:Bucket", "same", {"acl": "public-read"})
        """)
    with pytest.raises(ProgramError, match="Duplicate resource URN"):
        run_preview(project, "dev")
