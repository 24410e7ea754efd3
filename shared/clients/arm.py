"""Azure Resource Manager: user-assigned managed identities, their federated credentials, role assignments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from shared.clients._paging import paged_items
from shared.errors import ResourceExistsError, ResourceNotFoundError
from shared.fic import FederatedCredential
from shared.http import Call, HttpClient, PaceKey

MSI_API_VERSION = "2024-11-30"
ROLES_API_VERSION = "2022-04-01"
_IDENTITIES_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
)
_IDENTITY_PATH = _IDENTITIES_PATH + "/{name}"


@dataclass(frozen=True)
class IdentityAddress:
    """Where a user-assigned managed identity lives."""

    subscription_id: str
    resource_group: str
    name: str

    @property
    def path(self) -> str:
        return _IDENTITY_PATH.format(sub=self.subscription_id, rg=self.resource_group, name=quote(self.name))


@dataclass(frozen=True)
class ManagedIdentity:
    address: IdentityAddress
    location: str
    tags: Mapping[str, str]
    client_id: str
    principal_id: str
    tenant_id: str


@dataclass(frozen=True)
class StoredCredential:
    """A federated identity credential as the service holds it."""

    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...]

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


def credential_from(item: Mapping[str, Any]) -> StoredCredential:
    """ARM nests the values under `properties`; Graph does not."""
    values = item.get("properties", item)
    return StoredCredential(
        name=str(item["name"]),
        issuer=str(values.get("issuer", "")),
        subject=str(values.get("subject", "")),
        audiences=tuple(str(a) for a in values.get("audiences", ())),
    )


class ArmClient:
    """Exactly the ARM calls ppmi makes, paced per subscription and per identity."""

    def __init__(self, http: HttpClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._scope = f"{self._base}/.default"

    @property
    def http(self) -> HttpClient:
        return self._http

    @property
    def base_url(self) -> str:
        return self._base

    def _call(self, method: str, path: str, template: str, api: str, **extra: Any) -> Call:
        return Call(
            service="arm",
            method=method,
            url=f"{self._base}{path}?api-version={api}",
            template=template,
            scope=self._scope,
            **extra,
        )

    @staticmethod
    def _write_pace(address: IdentityAddress, *, per_identity: bool) -> tuple[PaceKey, ...]:
        keys: tuple[PaceKey, ...] = (
            PaceKey("arm-writes-per-subscription", address.subscription_id),
            PaceKey("managed-identity-writes-per-subscription", address.subscription_id),
        )
        if per_identity:
            keys += (PaceKey("managed-identity-writes-per-identity", address.path.lower()),)
        return keys

    # -- identities -------------------------------------------------------------------------------------

    async def get_identity(self, address: IdentityAddress) -> ManagedIdentity | None:
        call = self._call("GET", address.path, _IDENTITY_PATH, MSI_API_VERSION)
        try:
            response = await self._http.send(call)
        except ResourceNotFoundError:
            return None
        return _identity(address, response.json())

    async def create_or_update_identity(
        self, address: IdentityAddress, *, location: str, tags: Mapping[str, str]
    ) -> tuple[ManagedIdentity, bool]:
        """PUT the identity; returns it and whether it was created (201) rather than updated (200)."""
        call = self._call(
            "PUT",
            address.path,
            _IDENTITY_PATH,
            MSI_API_VERSION,
            json={"location": location, "tags": dict(tags)},
            pace=self._write_pace(address, per_identity=False),
        )
        response = await self._http.send(call)
        return _identity(address, response.json()), response.status_code == 201

    async def delete_identity(self, address: IdentityAddress) -> bool:
        """True when something was deleted (200), False when it was already gone (204)."""
        call = self._call(
            "DELETE",
            address.path,
            _IDENTITY_PATH,
            MSI_API_VERSION,
            pace=self._write_pace(address, per_identity=False),
        )
        response = await self._http.send(call)
        return response.status_code == 200

    async def list_identities(self, subscription_id: str, resource_group: str) -> list[ManagedIdentity]:
        path = _IDENTITIES_PATH.format(sub=subscription_id, rg=resource_group)
        found = []
        async for item in self._pages(self._call("GET", path, _IDENTITIES_PATH, MSI_API_VERSION)):
            address = IdentityAddress(subscription_id, resource_group, str(item["name"]))
            found.append(_identity(address, item))
        return found

    # -- federated identity credentials -------------------------------------------------------------------

    async def list_federated_credentials(self, address: IdentityAddress) -> list[StoredCredential]:
        path = f"{address.path}/federatedIdentityCredentials"
        call = self._call("GET", path, _IDENTITY_PATH + "/federatedIdentityCredentials", MSI_API_VERSION)
        return [credential_from(item) async for item in self._pages(call)]

    async def get_federated_credential(self, address: IdentityAddress, name: str) -> StoredCredential | None:
        path = f"{address.path}/federatedIdentityCredentials/{quote(name)}"
        call = self._call(
            "GET", path, _IDENTITY_PATH + "/federatedIdentityCredentials/{fic}", MSI_API_VERSION
        )
        try:
            response = await self._http.send(call)
        except ResourceNotFoundError:
            return None
        return credential_from(response.json())

    async def create_or_update_federated_credential(
        self, address: IdentityAddress, name: str, credential: FederatedCredential
    ) -> bool:
        """PUT the FIC; True when created. Callers serialise writes per identity (else Azure says 409)."""
        body = {
            "properties": {
                "issuer": credential.issuer,
                "subject": credential.subject,
                "audiences": [credential.audience],
            }
        }
        call = self._call(
            "PUT",
            f"{address.path}/federatedIdentityCredentials/{quote(name)}",
            _IDENTITY_PATH + "/federatedIdentityCredentials/{fic}",
            MSI_API_VERSION,
            json=body,
            pace=self._write_pace(address, per_identity=True),
        )
        response = await self._http.send(call)
        return response.status_code == 201

    async def delete_federated_credential(self, address: IdentityAddress, name: str) -> bool:
        """True when deleted; False when it or its identity was already gone (404 ParentResourceNotFound)."""
        call = self._call(
            "DELETE",
            f"{address.path}/federatedIdentityCredentials/{quote(name)}",
            _IDENTITY_PATH + "/federatedIdentityCredentials/{fic}",
            MSI_API_VERSION,
            pace=self._write_pace(address, per_identity=True),
        )
        try:
            response = await self._http.send(call)
        except ResourceNotFoundError:
            return False
        return response.status_code == 200

    # -- role assignments --------------------------------------------------------------------------------

    async def get_role_assignment(self, scope: str, name: str) -> RoleAssignment | None:
        call = self._call(
            "GET",
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            ROLES_API_VERSION,
        )
        try:
            response = await self._http.send(call)
        except ResourceNotFoundError:
            return None
        return _assignment(response.json())

    async def create_role_assignment(
        self, scope: str, name: str, *, role_definition_id: str, principal_id: str
    ) -> bool:
        """True when created; False when the same (scope, principal, role) already exists under any name."""
        body = {
            "properties": {
                "roleDefinitionId": role_definition_path(scope, role_definition_id),
                "principalId": principal_id,
                "principalType": "ServicePrincipal",  # lets ARM skip the directory lookup that lags behind
            }
        }
        call = self._call(
            "PUT",
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            ROLES_API_VERSION,
            json=body,
            pace=_scope_write_pace(scope),
        )
        try:
            await self._http.send(call)
        except ResourceExistsError:
            return False
        return True

    async def delete_role_assignment(self, scope: str, name: str) -> bool:
        call = self._call(
            "DELETE",
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
            ROLES_API_VERSION,
            pace=_scope_write_pace(scope),
        )
        response = await self._http.send(call)
        return response.status_code == 200

    async def list_role_assignments_for_principal(
        self, scope: str, principal_id: str
    ) -> list[RoleAssignment]:
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        call = self._call(
            "GET", path, "{scope}/providers/Microsoft.Authorization/roleAssignments", ROLES_API_VERSION
        )
        call = replace(call, url=f"{call.url}&$filter=principalId eq '{principal_id}'")
        return [_assignment(item) async for item in self._pages(call)]

    def _pages(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        return paged_items(self._http, call, link_field="nextLink", origin=self._base)


def scope_subscription(scope: str) -> str | None:
    """The subscription a resource ID lies in; None for management-group and tenant scopes."""
    parts = scope.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1]
    return None


def role_definition_path(scope: str, role_definition_id: str) -> str:
    """The role definition's ID as ARM expects it for `scope`: under the scope's own subscription.

    A built-in role named under another subscription than the scope's is refused, so grants on resources
    in other subscriptions than the identity's must not reuse the identity's subscription.
    """
    subscription = scope_subscription(scope)
    prefix = f"/subscriptions/{subscription}" if subscription else ""
    return f"{prefix}/providers/Microsoft.Authorization/roleDefinitions/{role_definition_id}"


def _scope_write_pace(scope: str) -> tuple[PaceKey, ...]:
    """ARM write buckets are per subscription; scopes above any subscription draw from no bucket."""
    subscription = scope_subscription(scope)
    return (PaceKey("arm-writes-per-subscription", subscription.lower()),) if subscription else ()


def _identity(address: IdentityAddress, body: Mapping[str, Any]) -> ManagedIdentity:
    properties = body.get("properties", {})
    return ManagedIdentity(
        address=address,
        location=str(body.get("location", "")),
        tags=dict(body.get("tags") or {}),
        client_id=str(properties.get("clientId", "")),
        principal_id=str(properties.get("principalId", "")),
        tenant_id=str(properties.get("tenantId", "")),
    )


def _assignment(body: Mapping[str, Any]) -> RoleAssignment:
    properties = body.get("properties", {})
    return RoleAssignment(
        name=str(body.get("name", "")),
        scope=str(properties.get("scope", "")),
        role_definition_id=str(properties.get("roleDefinitionId", "")).rsplit("/", 1)[-1].lower(),
        principal_id=str(properties.get("principalId", "")).lower(),
    )
