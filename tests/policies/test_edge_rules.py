"""Internet-facing edges and raw GPU instances: plain HTTP next to TLS on a public LoadBalancer, ALB HTTP
listeners that do not redirect, EC2 GPU instances (public IP, IMDSv1, unencrypted volumes), and the
aws-native launch template and ECR repository types judged by the same rules as pulumi-aws."""

from __future__ import annotations

import pytest

from servestack.costing.resources import Resource
from servestack.policies.aws.ec2 import (
    instance_encrypted_volumes,
    instance_imdsv2,
    instance_no_public_ip,
    launch_template_encrypted_volumes,
    launch_template_imdsv2,
    launch_template_no_public_ip,
)
from servestack.policies.aws.ecr import repository_immutable_tags, repository_kms_encryption, repository_scan_on_push
from servestack.policies.aws.lb import listener_http_redirect
from servestack.policies.kubernetes import load_balancer_plain_http
from servestack.policies.kubernetes.exposure import AWS_SCHEME, AWS_SSL_CERT, AWS_SSL_PORTS
from tests.costing.graphs import res
from tests.policies.helpers import WIRE_UNKNOWN, WIRE_UNKNOWN_BOOL, changed, removed, run, via_policy

# -- kubernetes-load-balancer-no-plain-http --------------------------------------------------------------

PUBLIC_TLS = res("kubernetes:core/v1:Service", "web", {
    "metadata": {"name": "web", "annotations": {AWS_SCHEME: "internet-facing", AWS_SSL_CERT: "arn:aws:acm:x",
                                                AWS_SSL_PORTS: "443"}},
    "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
             "ports": [{"name": "https", "port": 443, "targetPort": 8000}]}})
PLAIN = [{"name": "http", "port": 80, "targetPort": 8000}, {"name": "https", "port": 443, "targetPort": 8000}]


def test_public_tls_only_passes() -> None:
    assert run(load_balancer_plain_http.RULE, PUBLIC_TLS).status == "pass"
    every_port = removed(changed(PUBLIC_TLS, ["spec", "ports"], PLAIN), ["metadata", "annotations", AWS_SSL_PORTS])
    assert run(load_balancer_plain_http.RULE, every_port).status == "pass"  # no ssl-ports: every port is TLS
    by_name = changed(changed(PUBLIC_TLS, ["spec", "ports"], PLAIN), ["metadata", "annotations", AWS_SSL_PORTS],
                      "https,http")
    assert run(load_balancer_plain_http.RULE, by_name).status == "pass"


def test_plain_http_next_to_tls_is_violation() -> None:
    assert run(load_balancer_plain_http.RULE, changed(PUBLIC_TLS, ["spec", "ports"], PLAIN)).texts == [
        "public Service web terminates TLS on 443 but serves plain HTTP on port 80; list every port in "
        "service.beta.kubernetes.io/aws-load-balancer-ssl-ports or remove the plain port"]


def test_plain_http_not_judged_when_internal_or_without_tls() -> None:
    internal = changed(changed(PUBLIC_TLS, ["spec", "ports"], PLAIN), ["metadata", "annotations", AWS_SCHEME],
                       "internal")
    assert run(load_balancer_plain_http.RULE, internal).status == "not_applicable"
    no_tls = removed(changed(PUBLIC_TLS, ["spec", "ports"], PLAIN), ["metadata", "annotations", AWS_SSL_CERT])
    assert run(load_balancer_plain_http.RULE, no_tls).status == "not_applicable"
    assert run(load_balancer_plain_http.RULE, changed(PUBLIC_TLS, ["spec", "ports"], WIRE_UNKNOWN)).status \
        == "not_applicable"


# -- aws-alb-http-listener-redirects-https ---------------------------------------------------------------

ALB = res("aws:lb/loadBalancer:LoadBalancer", "edge", {"internal": False, "loadBalancerType": "application",
                                                       "subnets": ["subnet-a", "subnet-b"]})
REDIRECT = [{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]
FORWARD = [{"type": "forward", "targetGroupArn": "arn:tg"}]
HTTP = res("aws:lb/listener:Listener", "http", {"loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP",
                                                "defaultActions": REDIRECT}, deps=(ALB.urn,))
NATIVE_ALB = res("aws-native:elasticloadbalancingv2:LoadBalancer", "native-edge", {"scheme": "internet-facing"})
NATIVE_HTTP = res("aws-native:elasticloadbalancingv2:Listener", "native-http", {
    "loadBalancerArn": "arn:lb", "port": 80, "protocol": "HTTP",
    "defaultActions": [{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "statusCode": "HTTP_301"}}]},
    deps=(NATIVE_ALB.urn,))


@pytest.mark.parametrize("graph", [[ALB, HTTP], [NATIVE_ALB, NATIVE_HTTP]], ids=["aws", "aws-native"])
def test_http_listener_redirecting_passes(graph: list[Resource]) -> None:
    assert run(listener_http_redirect.RULE, graph).status == "pass"


def test_http_listener_forwarding_is_violation() -> None:
    bad = changed(HTTP, ["defaultActions"], FORWARD)
    outcome = run(listener_http_redirect.RULE, [ALB, bad])
    assert outcome.messages == (("HTTP listener http on internet-facing load balancer edge serves plain HTTP; make "
                                 "its default action a redirect to HTTPS", HTTP.urn),)
    assert via_policy(listener_http_redirect.RULE, [ALB, bad])[0] == list(outcome.messages)
    native_bad = changed(NATIVE_HTTP, ["defaultActions"], FORWARD)
    assert run(listener_http_redirect.RULE, [NATIVE_ALB, native_bad]).violated
    to_http = changed(HTTP, ["defaultActions", 0, "redirect", "protocol"], "HTTP")
    assert run(listener_http_redirect.RULE, [ALB, to_http]).violated


def test_listener_not_judged_on_internal_or_network_lb_or_https() -> None:
    bad = changed(HTTP, ["defaultActions"], FORWARD)
    assert run(listener_http_redirect.RULE, [changed(ALB, ["internal"], True), bad]).status == "not_applicable"
    assert run(listener_http_redirect.RULE, [changed(ALB, ["loadBalancerType"], "network"), bad]).status \
        == "not_applicable"
    https = changed(bad, ["protocol"], "HTTPS")
    assert run(listener_http_redirect.RULE, [ALB, https]).status == "not_applicable"
    internal_native = changed(NATIVE_ALB, ["scheme"], "internal")
    assert run(listener_http_redirect.RULE, [internal_native, changed(NATIVE_HTTP, ["defaultActions"], FORWARD)]
               ).status == "not_applicable"


def test_listener_unknowns() -> None:
    assert run(listener_http_redirect.RULE, [changed(ALB, ["internal"], WIRE_UNKNOWN_BOOL), HTTP]).status \
        == "not_applicable"
    assert run(listener_http_redirect.RULE, [ALB, changed(HTTP, ["defaultActions"], WIRE_UNKNOWN)]).status \
        == "not_applicable"
    assert run(listener_http_redirect.RULE, [HTTP]).reason == "http: its load balancer is not in this stack"


# -- aws-ec2-gpu-instance-* ------------------------------------------------------------------------------

GPU_VM = res("aws:ec2/instance:Instance", "trainer", {
    "ami": "ami-1", "instanceType": "g6e.xlarge", "subnetId": "subnet-a", "associatePublicIpAddress": False,
    "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"},
    "rootBlockDevice": {"volumeSize": 200, "volumeType": "gp3", "encrypted": True},
    "ebsBlockDevices": [{"deviceName": "/dev/sdf", "volumeSize": 500, "encrypted": True}],
})
NATIVE_VM = res("aws-native:ec2:Instance", "native-trainer", {
    "imageId": "ami-1", "instanceType": "p5.48xlarge",
    "networkInterfaces": [{"deviceIndex": "0", "subnetId": "subnet-a", "associatePublicIpAddress": False}],
    "metadataOptions": {"httpTokens": "required"},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 200, "encrypted": True}}],
})
INSTANCE_RULES = (instance_no_public_ip.RULE, instance_imdsv2.RULE, instance_encrypted_volumes.RULE)


@pytest.mark.parametrize("vm", [GPU_VM, NATIVE_VM], ids=["aws", "aws-native"])
@pytest.mark.parametrize("rule", INSTANCE_RULES, ids=lambda r: r.name)
def test_hardened_gpu_instances_pass(rule, vm: Resource) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, vm).status == "pass"


@pytest.mark.parametrize(
    ("rule", "vm", "path", "value", "message"),
    [
        (instance_no_public_ip.RULE, GPU_VM, ["associatePublicIpAddress"], True,
         "associatePublicIpAddress is true: the GPU instance is reachable from the internet; keep it in a private "
         "subnet behind a load balancer or NAT"),
        (instance_no_public_ip.RULE, NATIVE_VM, ["networkInterfaces", 0, "associatePublicIpAddress"], True,
         "networkInterfaces[0].associatePublicIpAddress is true: the GPU instance is reachable from the internet"),
        (instance_imdsv2.RULE, GPU_VM, ["metadataOptions", "httpTokens"], "optional",
         "metadataOptions.httpTokens is optional; set required (IMDSv2) so workloads cannot read the instance "
         "role's credentials with a plain GET"),
        (instance_imdsv2.RULE, NATIVE_VM, ["metadataOptions", "httpTokens"], "optional",
         "metadataOptions.httpTokens is optional; set required (IMDSv2) so workloads cannot read the instance "
         "role's credentials with a plain GET"),
        (instance_encrypted_volumes.RULE, GPU_VM, ["rootBlockDevice", "encrypted"], False,
         "rootBlockDevice.encrypted is not true"),
        (instance_encrypted_volumes.RULE, GPU_VM, ["ebsBlockDevices", 0, "encrypted"], False,
         "ebsBlockDevices[0] (/dev/sdf): encrypted is not true"),
        (instance_encrypted_volumes.RULE, NATIVE_VM, ["blockDeviceMappings", 0, "ebs", "encrypted"], False,
         "blockDeviceMappings[0] (/dev/xvda): ebs.encrypted is not true"),
    ],
    ids=["public-ip", "native-public-ip", "imdsv1", "native-imdsv1", "root", "ebs", "native-ebs"],
)
def test_gpu_instance_one_property(rule, vm: Resource, path: list[str | int], value: object,  # type: ignore[no-untyped-def]
                                   message: str) -> None:
    bad = changed(vm, path, value)
    assert run(rule, bad).texts == [message]
    assert [r.name for r in INSTANCE_RULES if run(r, bad).violated] == [rule.name]


def test_gpu_instance_defaults_are_violations() -> None:
    assert run(instance_imdsv2.RULE, removed(GPU_VM, ["metadataOptions"])).texts[0].startswith(
        "metadataOptions.httpTokens is not set (IMDSv1 allowed)")
    assert run(instance_encrypted_volumes.RULE, removed(GPU_VM, ["rootBlockDevice"])).texts == [
        "rootBlockDevice not set: the root volume is encrypted only if the account encrypts EBS by default; set "
        "rootBlockDevice.encrypted true"]
    assert run(instance_encrypted_volumes.RULE, removed(NATIVE_VM, ["blockDeviceMappings"])).violated


def test_gpu_instance_from_launch_template_leaves_it_to_the_template_rules() -> None:
    templated = changed(removed(removed(GPU_VM, ["metadataOptions"]), ["rootBlockDevice"]), ["launchTemplate"],
                        {"id": "lt-1", "version": "$Latest"})
    assert run(instance_imdsv2.RULE, templated).status == "not_applicable"
    assert run(instance_encrypted_volumes.RULE, templated).status == "pass"


def test_cpu_instances_and_unknowns_are_not_judged() -> None:
    cpu = changed(changed(GPU_VM, ["instanceType"], "m7i.large"), ["associatePublicIpAddress"], True)
    assert run(instance_no_public_ip.RULE, cpu).reason == "m7i.large is not a GPU instance type"
    not_in_catalog = changed(changed(GPU_VM, ["instanceType"], "g4dn.xlarge"), ["associatePublicIpAddress"], True)
    assert run(instance_no_public_ip.RULE, not_in_catalog).violated  # g* family counts even outside the catalog
    assert run(instance_no_public_ip.RULE, changed(GPU_VM, ["instanceType"], WIRE_UNKNOWN)).status == "not_applicable"
    assert run(instance_imdsv2.RULE, changed(GPU_VM, ["metadataOptions", "httpTokens"], WIRE_UNKNOWN)).status \
        == "not_applicable"
    assert run(instance_encrypted_volumes.RULE, changed(GPU_VM, ["rootBlockDevice", "encrypted"], WIRE_UNKNOWN_BOOL)
               ).status == "not_applicable"


# -- aws-native launch templates and ECR repositories ----------------------------------------------------

NATIVE_LT = res("aws-native:ec2:LaunchTemplate", "native-lt", {"launchTemplateData": {
    "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 200, "encrypted": True}}],
    "networkInterfaces": [{"deviceIndex": 0, "associatePublicIpAddress": False}],
}})
LT_RULES = (launch_template_imdsv2.RULE, launch_template_encrypted_volumes.RULE, launch_template_no_public_ip.RULE)


@pytest.mark.parametrize("rule", LT_RULES, ids=lambda r: r.name)
def test_native_launch_template_passes(rule) -> None:  # type: ignore[no-untyped-def]
    assert run(rule, NATIVE_LT).status == "pass"


@pytest.mark.parametrize(("rule", "path", "value", "message"), [
    (launch_template_imdsv2.RULE, ["launchTemplateData", "metadataOptions", "httpTokens"], "optional",
     "launchTemplateData.metadataOptions.httpTokens is optional; set required (IMDSv2)"),
    (launch_template_encrypted_volumes.RULE, ["launchTemplateData", "blockDeviceMappings", 0, "ebs", "encrypted"],
     False, "launchTemplateData.blockDeviceMappings[0] (/dev/xvda): ebs.encrypted is not true"),
    (launch_template_no_public_ip.RULE, ["launchTemplateData", "networkInterfaces", 0, "associatePublicIpAddress"],
     True, "launchTemplateData.networkInterfaces[0].associatePublicIpAddress is true; nodes must stay private"),
], ids=["imdsv1", "unencrypted", "public-ip"])
def test_native_launch_template_one_property(rule, path: list[str | int], value: object,  # type: ignore[no-untyped-def]
                                             message: str) -> None:
    assert run(rule, changed(NATIVE_LT, path, value)).texts == [message]


NATIVE_ECR = res("aws-native:ecr:Repository", "native-models", {
    "imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
    "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:1:key/k"}})


def test_native_ecr_repository() -> None:
    assert run(repository_immutable_tags.RULE, NATIVE_ECR).status == "pass"
    assert run(repository_kms_encryption.RULE, NATIVE_ECR).status == "pass"
    assert run(repository_scan_on_push.RULE, [NATIVE_ECR]).status == "pass"
    assert run(repository_immutable_tags.RULE, changed(NATIVE_ECR, ["imageTagMutability"], "MUTABLE")).texts == [
        "imageTagMutability is MUTABLE; set IMMUTABLE so a tag always names the same image"]
    assert run(repository_kms_encryption.RULE, removed(NATIVE_ECR, ["encryptionConfiguration"])).texts == [
        "encryptionConfiguration.encryptionType is AES256 (the default); use KMS"]
    assert run(repository_scan_on_push.RULE, [removed(NATIVE_ECR, ["imageScanningConfiguration"])]).violated
