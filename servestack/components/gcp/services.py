"""The Google APIs a servestack stack uses, enabled by the stack itself (a new project has container and
artifactregistry disabled, and every create call would fail with SERVICE_DISABLED).

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import pulumi
import pulumi_gcp as gcp

REQUIRED_APIS = (
    "compute.googleapis.com",
    "container.googleapis.com",
    "artifactregistry.googleapis.com",
    "secretmanager.googleapis.com",
    "iam.googleapis.com",
)


def enable_apis(parent: pulumi.Resource, name: str, project: pulumi.Input[str]) -> list[gcp.projects.Service]:
    """One `projects.Service` per API; they stay enabled on destroy, since other stacks in the project may
    use them and disabling an API can delete that API's resources."""
    return [
        gcp.projects.Service(
            f"{name}-api-{api.split('.', 1)[0]}",
            project=project,
            service=api,
            disable_on_destroy=False,
            disable_dependent_services=False,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for api in REQUIRED_APIS
    ]
