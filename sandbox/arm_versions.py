"""Which api-versions ARM serves for each resource type ppmi touches, and how it refuses the others.

Accepted: the versions for which azure-rest-api-specs publishes the resource type's spec
(specification/msi/resource-manager/Microsoft.ManagedIdentity/{stable,preview}/<version>/
ManagedIdentity.json; federated identity credentials appear from 2022-01-31-preview on;
specification/authorization/.../roleAssignments specs, of which 2020-10-01-preview was never registered:
Azure/bicep#3543). Resource groups: the Resources API versions ARM listed in its own refusal
(pulumi/pulumi-azure-native#3637, 2024; the stable ones from 2019 on).

Refusals, verbatim shapes: a provider resource type answers 400 `NoRegisteredProviderFound` ("No registered
resource provider found for location '…' and API version '…' for type '…'. The supported api-versions are '…'.
The supported locations are '…'.": Azure/bicep#3543, nebari-dev/nebari#2374); ARM's own types (resource
groups) answer 400 `InvalidApiVersionParameter` ("The api-version '…' is invalid. The supported versions are
'…'.": Azure/azure-cli#28038, hashicorp/vault-plugin-secrets-azure#13); no api-version at all answers 400
`MissingApiVersionParameter`. The location named in NoRegisteredProviderFound is UNCONFIRMED for reads (the
sandbox names the resource group's).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from sandbox.errors import error_response


@dataclass(frozen=True)
class ResourceType:
    """A resource type as ARM routes it: its name in refusals, the versions it serves, where it lives."""

    name: str
    versions: tuple[str, ...]
    provider: bool = True
    locations: str = ""


IDENTITY_VERSIONS = (
    "2015-08-31-preview",
    "2018-11-30",
    "2021-09-30-preview",
    "2022-01-31-preview",
    "2023-01-31",
    "2023-07-31-preview",
    "2024-11-30",
    "2025-01-31-preview",
)
IDENTITIES = ResourceType(
    "userAssignedIdentities",
    IDENTITY_VERSIONS,
    locations="eastus, westus, westeurope, northeurope, uksouth, malaysiasouth, newzealandnorth",
)
FEDERATED_CREDENTIALS = ResourceType(
    "userAssignedIdentities/federatedIdentityCredentials",
    tuple(v for v in IDENTITY_VERSIONS if v >= "2022-01-31-preview"),
    locations=IDENTITIES.locations,
)
ROLE_ASSIGNMENTS = ResourceType(
    "roleAssignments",
    ("2018-09-01-preview", "2020-03-01-preview", "2020-04-01-preview", "2020-08-01-preview", "2022-04-01"),
)
# The permissions API: 2015-07-01 (azure-docs resource-manager-api-authentication.md, and the spec folder's
# GetPermissions.json), 2022-04-01 (the stable spec) and 2022-05-01-preview (its GetResourcePermissions.json).
PERMISSIONS = ResourceType("permissions", ("2015-07-01", "2022-04-01", "2022-05-01-preview"))
RESOURCE_GROUPS = ResourceType(
    "resourceGroups",
    (
        "2019-05-01",
        "2019-10-01",
        "2020-06-01",
        "2020-10-01",
        "2021-01-01",
        "2021-04-01",
        "2022-01-01",
        "2022-05-01",
        "2022-09-01",
        "2022-12-01",
        "2023-07-01",
        "2024-03-01",
        "2024-08-01",
    ),
    provider=False,
)


def api_version_refusal(version: str | None, kind: ResourceType, location: str) -> web.Response | None:
    """ARM's answer to an api-version `kind` does not serve, or None when it serves it."""
    if not version:
        return error_response(
            "arm",
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if version in kind.versions:
        return None
    newest_first = sorted(kind.versions, reverse=True)
    if not kind.provider:
        return error_response(
            "arm",
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{','.join(newest_first)}'.",
        )
    return error_response(
        "arm",
        400,
        "NoRegisteredProviderFound",
        f"No registered resource provider found for location '{location}' and API version '{version}' for "
        f"type '{kind.name}'. The supported api-versions are '{', '.join(sorted(kind.versions))}'. "
        f"The supported locations are '{kind.locations}'.",
    )
