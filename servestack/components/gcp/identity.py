"""The serving pods' Google identity: a service account bound to the server's Kubernetes service account
with Workload Identity, allowed to read one Secret Manager secret (the Hugging Face token) and nothing else.

Annotations are evaluated at import (no `from __future__ import annotations`): the component
provider host reads them at runtime to infer the cross-language schema.
"""

import pulumi
import pulumi_gcp as gcp


def server_secret_reader(
    parent: pulumi.Resource,
    name: str,
    *,
    project: pulumi.Input[str],
    namespace: str,
    service_account: str,
    secret_id: str,
    depends_on: list[pulumi.Resource],
) -> gcp.serviceaccount.Account:
    child = pulumi.ResourceOptions(parent=parent, depends_on=depends_on)
    gsa = gcp.serviceaccount.Account(
        f"{name}-server",
        account_id=f"{name[:19]}-server",
        display_name=f"Serving pods of {name}",
        project=project,
        opts=child,
    )
    member = gsa.email.apply(lambda e: f"serviceAccount:{e}")
    gcp.serviceaccount.IAMMember(
        f"{name}-server-workload-identity",
        service_account_id=gsa.name,
        role="roles/iam.workloadIdentityUser",
        member=pulumi.Output.from_input(project).apply(
            lambda p: f"serviceAccount:{p}.svc.id.goog[{namespace}/{service_account}]"
        ),
        opts=child,
    )
    gcp.secretmanager.SecretIamMember(
        f"{name}-server-secret",
        project=project,
        secret_id=secret_id,
        role="roles/secretmanager.secretAccessor",
        member=member,
        opts=child,
    )
    return gsa
