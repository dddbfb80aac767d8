"""ContainerRegistry: an ECR repository for serving images.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from servestack.components._common import (
    check_positive,
    check_tags,
)


class ContainerRegistryArgs(TypedDict):
    """Inputs of an ECR repository for serving images."""

    tags: dict[str, str]
    """Cost tags: team, environment, cost-center, managed-by."""
    kms_key_arn: NotRequired[pulumi.Input[str]]
    """Customer-managed KMS key; the AWS-managed ECR key is used when absent."""
    untagged_expiry_days: NotRequired[int]
    """Untagged images are deleted after this many days (default 7)."""
    keep_images: NotRequired[int]
    """At most this many images are kept (default 50)."""


class ContainerRegistry(pulumi.ComponentResource):
    """An ECR repository with immutable tags, scan on push, KMS encryption and a lifecycle policy."""

    repository_url: pulumi.Output[str]
    """Registry URL to push to."""
    repository_arn: pulumi.Output[str]
    """ARN of the repository."""

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ContainerRegistry", name, None, opts)
        tags = check_tags("ContainerRegistry", args.get("tags"))
        expiry = check_positive("ContainerRegistry", "untagged_expiry_days", args.get("untagged_expiry_days", 7))
        keep = check_positive("ContainerRegistry", "keep_images", args.get("keep_images", 50))
        kms_key = args.get("kms_key_arn")
        repo = aws.ecr.Repository(
            f"{name}-repo",
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": kms_key}],
            force_delete=False,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repo.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"expire untagged images after {expiry} days",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": expiry,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"keep the newest {keep} images",
                            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = repo.repository_url
        self.repository_arn = repo.arn
        self.register_outputs({"repository_url": self.repository_url, "repository_arn": self.repository_arn})
