"""ARM's permissions API: what the caller itself may do at a scope, from the sandbox's authorization model.

`GET {scope}/providers/Microsoft.Authorization/permissions` answers `{"value": [Permission...]}`, one entry
per role assignment of the caller that reaches the scope, with the role's actions
(contracts/arm-authorization/authorization-Permissions-2022-04-01.trimmed.json, examples/
GetResourcePermissions.json). The entries come from `sandbox.arm_access.ArmRights`, the same model that
refuses calls with 403, so what the API reports is exactly what the stand-ins enforce.

- Resource groups and resources: the 2022-04-01 spec; subscriptions: contracts/arm-authorization/
  azure-docs_resource-manager-api-authentication.permissions-sections.md (2015-07-01). Every served version is
  taken at every scope: ARM registers api-versions per resource type (UNCONFIRMED for this one).
- Any caller may ask about itself; one without any assignment there gets an empty list (UNCONFIRMED: the spec
  names no refusal).
- Scopes are not checked for existence, as for role assignments (no Key Vaults are modelled).
- An entry carries no ABAC condition (the spec's Permission has none); `permissions_report_conditions` adds
  the deployment's condition and version 2.0 to the conditioned entries, to try clients against a service
  that does (UNCONFIRMED either way).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sandbox.arm_access import Grant

# Empty segments are taken: azure-mgmt-authorization sends `…/Microsoft.KeyVault//vaults/…` for a top-level
# resource (an empty parentResourcePath); read as the resource itself (UNCONFIRMED how ARM reads it).
PERMISSIONS = r"(?P<scope>(?:/[^/]*)*?)/providers/Microsoft\.Authorization/permissions"


def canonical_scope(scope: str) -> str:
    """The scope without empty segments; `/` for the root."""
    return "/" + "/".join(segment for segment in scope.split("/") if segment)


CONDITION_VERSION = "2.0"


def delegation_condition(granted_roles: Sequence[str]) -> str:
    """infra/main.bicep's condition on the RBAC administrator assignment, for these roles."""
    roles = ", ".join(granted_roles)
    clauses = []
    for action, source in (("write", "Request"), ("delete", "Resource")):
        attribute = f"@{source}[Microsoft.Authorization/roleAssignments"
        clauses.append(
            f"((!(ActionMatches{{'Microsoft.Authorization/roleAssignments/{action}'}})) OR "
            f"({attribute}:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{roles}}} AND "
            f"{attribute}:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{'ServicePrincipal'}}))"
        )
    return " AND ".join(clauses)


def permissions_json(
    grants: Sequence[Grant], *, report_conditions: bool, granted_roles: Sequence[str]
) -> list[dict[str, Any]]:
    """The reply's entries for the caller's assignments that reach the scope."""
    entries = []
    for grant in grants:
        entry: dict[str, Any] = {
            "actions": list(grant.actions),
            "notActions": [],
            "dataActions": [],
            "notDataActions": [],
        }
        if report_conditions and grant.conditioned:
            entry |= {"condition": delegation_condition(granted_roles), "conditionVersion": CONDITION_VERSION}
        entries.append(entry)
    return entries
