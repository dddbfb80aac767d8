"""The serving pods' AWS identity: an IAM role for EKS Pod Identity that may read one secret (the Hugging Face
token) and nothing else.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from servestack.components.aws._shared import _assume_role_policy


def secret_arn_pattern(partition: str, region: str, account: str, secret_name: str) -> str:
    """The ARN of a Secrets Manager secret by name: AWS appends a hyphen and six random characters."""
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret_name}-??????"


def secret_read_policy(secret_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTheModelToken",
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                "Resource": secret_arn,
            }
        ],
    }


def server_secret_reader(
    parent: pulumi.Resource,
    name: str,
    *,
    cluster_name: pulumi.Input[str],
    region: pulumi.Input[str],
    namespace: str,
    service_account: str,
    secret_name: str,
    tags: dict[str, str],
    depends_on: list[pulumi.Resource],
) -> aws.eks.PodIdentityAssociation:
    """A role the server's service account assumes through EKS Pod Identity, allowed to read `secret_name` only.
    The pods need no annotation: Pod Identity matches the association's namespace and service account."""
    child = pulumi.ResourceOptions(parent=parent)
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    partition = aws.get_partition_output(opts=invoke).partition
    account = aws.get_caller_identity_output(opts=invoke).account_id
    arn = pulumi.Output.all(partition, region, account).apply(
        lambda v: secret_arn_pattern(str(v[0]), str(v[1]), str(v[2]), secret_name)
    )
    role = aws.iam.Role(
        f"{name}-server-role",
        assume_role_policy=_assume_role_policy("pods.eks.amazonaws.com"),
        description=f"Serving pods of {name} (EKS Pod Identity): read the model-hub token",
        tags=tags,
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        f"{name}-server-secret",
        role=role.id,
        policy=arn.apply(lambda a: json.dumps(secret_read_policy(a))),
        opts=child,
    )
    return aws.eks.PodIdentityAssociation(
        f"{name}-server-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy, *depends_on]),
    )
