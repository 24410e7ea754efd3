"""ARM replies as ppmi reads them: tolerant of what the service really sends, strict about what ppmi needs.

Real replies carry fields the spec does not list, explicit nulls where it lists a string (every role
assignment in recordings/azure-cli.role.roleAssignment-PUT-201.excerpt.yaml), `resourcegroups` lower-cased in
IDs (the 2024-11-30 examples), and extensible enums (`x-ms-enum` `modelAsString`: IsolationScope,
PrincipalType) may gain values. Unknown values are logged and kept; nothing here parses a resource ID to
address a resource.
"""

from __future__ import annotations

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
