"""ContainerRegistry: an ECR repository for serving images.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import json
from typing import Any, NotRequired, TypedDict

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
    docker_hub_credential_arn: NotRequired[pulumi.Input[str]]
    """Secrets Manager secret (name starting `ecr-pullthroughcache/`) with a Docker Hub username and access
    token: turns on an ECR pull-through cache for Docker Hub under the `docker-hub/` prefix. ECR requires a
    credential for Docker Hub upstreams; without one, mirror the serving image into the repository instead."""


class ContainerRegistry(pulumi.ComponentResource):
    """An ECR repository with immutable tags, scan on push, KMS encryption and a lifecycle policy."""

    repository_url: pulumi.Output[str]
    """Registry URL to push to."""
    repository_arn: pulumi.Output[str]
    """ARN of the repository."""
    docker_hub_mirror: pulumi.Output[str]
    """Prefix that serves Docker Hub images through the pull-through cache (`<registry>/docker-hub`); empty
    when no Docker Hub credential was given."""

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
            policy=json.dumps(_lifecycle_rules(expiry, keep)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = repo.repository_url
        self.repository_arn = repo.arn
        self.docker_hub_mirror = pulumi.Output.from_input("")
        credential = args.get("docker_hub_credential_arn")
        if credential is not None:
            self.docker_hub_mirror = self._docker_hub_cache(name, credential, kms_key, expiry, keep, tags)
        self.register_outputs(
            {
                "repository_url": self.repository_url,
                "repository_arn": self.repository_arn,
                "docker_hub_mirror": self.docker_hub_mirror,
            }
        )

    def _docker_hub_cache(
        self,
        name: str,
        credential: pulumi.Input[str],
        kms_key: pulumi.Input[str] | None,
        expiry: int,
        keep: int,
        tags: dict[str, str],
    ) -> pulumi.Output[str]:
        """A pull-through cache rule for Docker Hub, and a creation template so the repositories ECR creates on
        first pull are immutable, scanned and encrypted like the stack's own."""
        child = pulumi.ResourceOptions(parent=self)
        template = aws.ecr.RepositoryCreationTemplate(
            f"{name}-docker-hub-template",
            prefix=DOCKER_HUB_PREFIX,
            applied_fors=["PULL_THROUGH_CACHE"],
            image_tag_mutability="IMMUTABLE",
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": kms_key}],
            lifecycle_policy=json.dumps(_lifecycle_rules(expiry, keep)),
            resource_tags=tags,
            opts=child,
        )
        rule = aws.ecr.PullThroughCacheRule(
            f"{name}-docker-hub",
            ecr_repository_prefix=DOCKER_HUB_PREFIX,
            upstream_registry_url="registry-1.docker.io",
            credential_arn=credential,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[template]),
        )
        host = self.repository_url.apply(lambda url: url.split("/", 1)[0])
        return pulumi.Output.all(host, rule.ecr_repository_prefix).apply(lambda v: f"{v[0]}/{v[1]}")


DOCKER_HUB_PREFIX = "docker-hub"
"""Repository prefix under which ECR serves cached Docker Hub images."""


def _lifecycle_rules(expiry: int, keep: int) -> dict[str, Any]:
    return {
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
