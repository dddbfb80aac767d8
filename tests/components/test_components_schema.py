"""The cross-language schema the component provider host infers (what `pulumi package add` sees)."""

import json
from typing import Any

import pytest
from pulumi.provider.experimental.component import ComponentProvider

from servestack.components import all_components

EXPECTED = {
    "EksCluster",
    "GpuNodeGroup",
    "ContainerRegistry",
    "ClusterAutoscaler",
    "GkeCluster",
    "GpuNodePool",
    "ArtifactRegistry",
    "ModelServer",
    "ModelLoadBalancer",
    "ModelRouter",
    "ServingAutoscaler",
    "ServingAddons",
    "NvidiaDevicePlugin",
    "ImagePrePuller",
    "ModelDeployment",
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    provider = ComponentProvider(all_components(), "servestack", None, "0.1.0")
    loaded: dict[str, Any] = json.loads(provider.schema or "{}")
    return loaded


def test_every_component_is_in_the_index_module(schema: dict[str, Any]) -> None:
    assert set(schema["resources"]) == {f"servestack:index:{name}" for name in EXPECTED}
    assert all(r["isComponent"] for r in schema["resources"].values())


def test_inputs_and_outputs_carry_descriptions(schema: dict[str, Any]) -> None:
    undocumented = [
        f"{token}.{prop}"
        for token, res in schema["resources"].items()
        for section in ("inputProperties", "properties")
        for prop, spec in res.get(section, {}).items()
        if not spec.get("description")
    ]
    assert not undocumented, undocumented


def test_gpu_node_group_inputs(schema: dict[str, Any]) -> None:
    res = schema["resources"]["servestack:index:GpuNodeGroup"]
    inputs = res["inputProperties"]
    assert inputs["minSize"]["type"] == "integer" and inputs["minSize"].get("plain") is True
    assert inputs["subnetIds"]["type"] == "array"
    assert "amiType" not in res["requiredInputs"] and "pricing" in res["requiredInputs"]
    assert set(res["properties"]) == {"nodeGroupName", "nodeRoleArn", "launchTemplateId", "autoscalingGroupName"}


def test_model_deployment_outputs(schema: dict[str, Any]) -> None:
    res = schema["resources"]["servestack:index:ModelDeployment"]
    assert set(res["properties"]) == {"clusterName", "kubeconfig", "registryUrl", "endpoint", "namespace"}
    assert {"replicasMin", "replicasPeak", "pricingBase", "pricingBurst"} <= set(res["requiredInputs"])


def test_cluster_autoscaler_inputs(schema: dict[str, Any]) -> None:
    res = schema["resources"]["servestack:index:ClusterAutoscaler"]
    assert set(res["requiredInputs"]) == {"clusterName", "region", "tags"}
    assert res["inputProperties"]["installPodIdentityAgent"]["type"] == "boolean"
    assert set(res["properties"]) == {"roleArn", "serviceAccount", "releaseName"}


def test_cluster_api_access_is_a_required_choice(schema: dict[str, Any]) -> None:
    for token in ("servestack:index:EksCluster", "servestack:index:GkeCluster"):
        res = schema["resources"][token]
        assert "apiAccess" in res["requiredInputs"], token
        assert {"apiCidrs", "zoneNames", "clusterAdmins", "kubernetesVersion"} <= set(res["inputProperties"]), token
    assert "systemNodeGroupName" in schema["resources"]["servestack:index:EksCluster"]["properties"]


def test_deploy_readiness_inputs(schema: dict[str, Any]) -> None:
    group = schema["resources"]["servestack:index:GpuNodeGroup"]["inputProperties"]
    assert {"rootVolumeThroughputMibps", "rootVolumeIops", "efaInterfaces"} <= set(group)
    registry = schema["resources"]["servestack:index:ContainerRegistry"]
    assert "dockerHubCredentialArn" in registry["inputProperties"] and "dockerHubMirror" in registry["properties"]
    deployment = schema["resources"]["servestack:index:ModelDeployment"]["inputProperties"]
    assert {"zoneNames", "apiAccess", "apiCidrs", "clusterAdmins", "hfTokenSecret", "efaInterfaces"} <= set(deployment)
