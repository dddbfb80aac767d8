"""ArtifactRegistry: an Artifact Registry Docker repository.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from servestack.components._common import (
    check_positive,
    check_tags,
)


class ArtifactRegistryArgs(TypedDict):
    """Inputs of an Artifact Registry Docker repository."""

    project: pulumi.Input[str]
    """GCP project id."""
    location: pulumi.Input[str]
    """Region of the repository."""
    tags: dict[str, str]
    """Cost labels: team, environment, cost-center, managed-by."""
    kms_key_name: NotRequired[pulumi.Input[str]]
    """Customer-managed KMS key; Google-managed encryption when absent."""
    untagged_expiry_days: NotRequired[int]
    """Untagged images are deleted after this many days (default 7)."""
    keep_images: NotRequired[int]
    """The newest this many versions are always kept (default 50)."""


class ArtifactRegistry(pulumi.ComponentResource):
    """A Docker repository in Artifact Registry with immutable tags, scanning and cleanup policies."""

    repository_url: pulumi.Output[str]
    """Registry URL to push to."""

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ArtifactRegistry", name, None, opts)
        tags = check_tags("ArtifactRegistry", args.get("tags"))
        expiry = check_positive("ArtifactRegistry", "untagged_expiry_days", args.get("untagged_expiry_days", 7))
        keep = check_positive("ArtifactRegistry", "keep_images", args.get("keep_images", 50))
        repo = gcp.artifactregistry.Repository(
            f"{name}-repo",
            repository_id=name,
            project=args["project"],
            location=args["location"],
            format="DOCKER",
            docker_config={"immutable_tags": True},
            kms_key_name=args.get("kms_key_name"),
            vulnerability_scanning_config={"enablement_config": "INHERITED"},
            cleanup_policy_dry_run=False,
            cleanup_policies=[
                {
                    "id": "delete-untagged",
                    "action": "DELETE",
                    "condition": {"tag_state": "UNTAGGED", "older_than": f"{expiry * 86400}s"},
                },
                {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": keep}},
            ],
            labels=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = pulumi.Output.all(repo.location, repo.project, repo.repository_id).apply(
            lambda v: f"{v[0]}-docker.pkg.dev/{v[1]}/{v[2]}"
        )
        self.register_outputs({"repository_url": self.repository_url})
