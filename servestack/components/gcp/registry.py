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

DOCKER_HUB_REPOSITORY_SUFFIX = "docker-hub"
"""The Docker Hub remote repository is `<registry name>-docker-hub`."""


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
    docker_hub_remote: NotRequired[bool]
    """Also create a remote repository that caches Docker Hub (default false), so nodes pull public images
    through Artifact Registry instead of anonymously through NAT (Docker Hub's rate limits)."""


class ArtifactRegistry(pulumi.ComponentResource):
    """A Docker repository in Artifact Registry with immutable tags, scanning and cleanup policies."""

    repository_url: pulumi.Output[str]
    """Registry URL to push to."""
    docker_hub_mirror: pulumi.Output[str]
    """Prefix that serves Docker Hub images through the remote repository; empty without docker_hub_remote."""

    def __init__(self, name: str, args: ArtifactRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("servestack:index:ArtifactRegistry", name, None, opts)
        tags = check_tags("ArtifactRegistry", args.get("tags"))
        expiry = check_positive("ArtifactRegistry", "untagged_expiry_days", args.get("untagged_expiry_days", 7))
        keep = check_positive("ArtifactRegistry", "keep_images", args.get("keep_images", 50))
        # Children wait for what the component waits for (the enabled Artifact Registry API).
        depends_on = opts.depends_on if opts is not None and opts.depends_on is not None else None
        child = pulumi.ResourceOptions(parent=self, depends_on=depends_on)
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
            opts=child,
        )
        self.repository_url = _docker_url(repo)
        self.docker_hub_mirror = pulumi.Output.from_input("")
        if args.get("docker_hub_remote", False):
            remote = gcp.artifactregistry.Repository(
                f"{name}-{DOCKER_HUB_REPOSITORY_SUFFIX}",
                repository_id=f"{name}-{DOCKER_HUB_REPOSITORY_SUFFIX}",
                project=args["project"],
                location=args["location"],
                format="DOCKER",
                mode="REMOTE_REPOSITORY",
                description="Pull-through cache of Docker Hub",
                # A cached tag keeps naming the image first pulled through it (the registry guardrail holds
                # every Docker repository to immutable tags).
                docker_config={"immutable_tags": True},
                remote_repository_config={
                    "description": "Docker Hub",
                    "docker_repository": {"public_repository": "DOCKER_HUB"},
                },
                kms_key_name=args.get("kms_key_name"),
                vulnerability_scanning_config={"enablement_config": "INHERITED"},
                cleanup_policy_dry_run=False,
                cleanup_policies=[
                    {"id": "keep-recent", "action": "KEEP", "most_recent_versions": {"keep_count": keep}},
                ],
                labels=tags,
                opts=child,
            )
            self.docker_hub_mirror = _docker_url(remote)
        self.register_outputs({"repository_url": self.repository_url, "docker_hub_mirror": self.docker_hub_mirror})


def _docker_url(repo: gcp.artifactregistry.Repository) -> pulumi.Output[str]:
    return pulumi.Output.all(repo.location, repo.project, repo.repository_id).apply(
        lambda v: f"{v[0]}-docker.pkg.dev/{v[1]}/{v[2]}"
    )
