"""ARM replies as ppmi reads them: tolerant of what the service really sends, strict about what ppmi needs.

Real replies carry fields the spec does not list, explicit nulls where it lists a string (every role
assignment in recordings/azure-cli.role.roleAssignment-PUT-201.excerpt.yaml), `resourcegroups` lower-cased in
IDs (the 2024-11-30 examples), and extensible enums (`x-ms-enum` `modelAsString`: IsolationScope,
PrincipalType) may gain values. Unknown values are logged and kept; nothing here parses a resource ID to
address a resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shared.fic import FederatedCredential
from shared.telemetry import get_logger

LOG = get_logger("shared.clients.arm")
# contracts/arm-msi/ManagedIdentity-2024-11-30.trimmed.json (IsolationScope) and
# contracts/arm-authorization/authorization-RoleAssignmentsCalls-2022-04-01.trimmed.json (PrincipalType).
ISOLATION_SCOPES = frozenset({"None", "Regional"})
PRINCIPAL_TYPES = frozenset({"User", "Group", "ServicePrincipal", "ForeignGroup"})
IDENTITIES_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
)
IDENTITY_PATH = IDENTITIES_PATH + "/{name}"


@dataclass(frozen=True)
class IdentityAddress:
    """Where a user-assigned managed identity lives."""

    subscription_id: str
    resource_group: str
    name: str

    @property
    def path(self) -> str:
        return IDENTITY_PATH.format(sub=self.subscription_id, rg=self.resource_group, name=quote(self.name))


@dataclass(frozen=True)
class ManagedIdentity:
    address: IdentityAddress
    location: str
    tags: Mapping[str, str]
    client_id: str
    principal_id: str
    tenant_id: str
    isolation_scope: str = "None"


@dataclass(frozen=True)
class StoredCredential:
    """A federated identity credential as the service holds it."""

    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...]
    description: str | None = None  # Graph only: ppmi notes there which connector a FIC serves

    def holds(self, credential: FederatedCredential) -> bool:
        return (self.issuer, self.subject, self.audiences) == (
            credential.issuer,
            credential.subject,
            (credential.audience,),
        )


@dataclass(frozen=True)
class RoleAssignment:
    name: str
    scope: str
    role_definition_id: str
    principal_id: str
    principal_type: str = ""


@dataclass(frozen=True)
class Permission:
    """One entry of the permissions API's reply: what one of the caller's role assignments allows at a scope.

    The 2022-04-01 spec (contracts/arm-authorization/authorization-Permissions-2022-04-01.trimmed.json) has
    `actions`, `notActions`, `dataActions` and `notDataActions`; `condition` is no property of it, kept should
    a service send one (the ABAC condition of the assignment behind the entry, UNCONFIRMED).
    """

    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()
    condition: str | None = None

    def allows(self, action: str) -> bool:
        """In `actions` and not in this entry's own `notActions` (contracts/arm-authorization/azure-docs_
        resource-manager-api-authentication.permissions-sections.md); `*` matches any run of characters
        (learn.microsoft.com/azure/role-based-access-control/role-definitions#wildcard-permissions) and
        action strings compare without case (.../role-based-access-control/custom-roles)."""
        return any(_matches(pattern, action) for pattern in self.actions) and not any(
            _matches(pattern, action) for pattern in self.not_actions
        )


def _matches(pattern: str, action: str) -> bool:
    expression = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(expression, action, re.IGNORECASE | re.DOTALL) is not None


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one for an explicit null (or anything that is not an object)."""
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _known(field: str, value: str, known: frozenset[str]) -> str:
    """An extensible enum's value as sent; one ppmi does not know is logged, never refused."""
    if value and value not in known:
        LOG.info("arm.unknown_enum_value", field=field, value=value, known=sorted(known))
    return value


def credential_from(item: Mapping[str, Any]) -> StoredCredential:
    """ARM nests the values under `properties`; Graph does not."""
    values = _object(item.get("properties")) or item
    audiences = values.get("audiences") or ()
    return StoredCredential(
        name=_text(item.get("name")),
        issuer=_text(values.get("issuer")),
        subject=_text(values.get("subject")),
        audiences=tuple(str(a) for a in audiences if a is not None),
        description=values.get("description") if isinstance(values.get("description"), str) else None,
    )


def identity_from(address: IdentityAddress, body: Mapping[str, Any]) -> ManagedIdentity:
    properties = _object(body.get("properties"))
    tags = _object(body.get("tags"))
    return ManagedIdentity(
        address=address,
        location=_text(body.get("location")),
        tags={str(k): _text(v) for k, v in tags.items()},
        client_id=_text(properties.get("clientId")),
        principal_id=_text(properties.get("principalId")),
        tenant_id=_text(properties.get("tenantId")),
        isolation_scope=_known(
            "isolationScope", _text(properties.get("isolationScope")) or "None", ISOLATION_SCOPES
        ),
    )


def identity_name(item: Mapping[str, Any]) -> str:
    """A listed identity's name; from the last segment of its ID should a reply leave `name` out."""
    return _text(item.get("name")) or _text(item.get("id")).rstrip("/").rsplit("/", 1)[-1]


def assignment_from(body: Mapping[str, Any]) -> RoleAssignment:
    properties = _object(body.get("properties"))
    return RoleAssignment(
        name=_text(body.get("name")),
        scope=_text(properties.get("scope")),
        role_definition_id=_text(properties.get("roleDefinitionId")).rsplit("/", 1)[-1].lower(),
        principal_id=_text(properties.get("principalId")).lower(),
        principal_type=_known("principalType", _text(properties.get("principalType")), PRINCIPAL_TYPES),
    )


def permission_from(item: Mapping[str, Any]) -> Permission:
    """A `Permission`; nulls read as empty lists, fields the spec does not name are ignored."""

    def strings(key: str) -> tuple[str, ...]:
        values = item.get(key)
        return tuple(str(v) for v in values if v is not None) if isinstance(values, list) else ()

    condition = item.get("condition")
    return Permission(
        actions=strings("actions"),
        not_actions=strings("notActions"),
        data_actions=strings("dataActions"),
        not_data_actions=strings("notDataActions"),
        condition=str(condition) if condition else None,
    )
