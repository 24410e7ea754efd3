"""Azure Resource Manager: user-assigned managed identities, their federated credentials, role assignments."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from shared.clients._arm_shapes import (
    IDENTITIES_PATH,
    IDENTITY_PATH,
    IdentityAddress,
    ManagedIdentity,
    Permission,
    RoleAssignment,
    StoredCredential,
    assignment_from,
    credential_from,
    identity_from,
    identity_name,
    permission_from,
)
from shared.clients._paging import paged_items
from shared.errors import (
    MissingResourceGroup,
    MissingRight,
    PermanentServiceError,
    PpmiError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from shared.fic import FederatedCredential
from shared.http import Call, HttpClient, PaceKey

__all__ = [
    "ArmClient",
    "IdentityAddress",
    "ManagedIdentity",
    "Permission",
    "RoleAssignment",
    "StoredCredential",
    "credential_from",
    "explained_refusal",
    "permission_from",
    "role_definition_path",
    "scope_subscription",
]

MSI_API_VERSION = "2024-11-30"
ROLES_API_VERSION = "2022-04-01"
# The permissions API: 2022-04-01 declares it for resource groups and resources
# (contracts/arm-authorization/authorization-Permissions-2022-04-01.trimmed.json); for a subscription it is
# documented only with 2015-07-01 (contracts/arm-authorization/azure-docs_resource-manager-api-
# authentication.permissions-sections.md), so that version is asked when ARM refuses 2022-04-01 there.
PERMISSIONS_API_VERSION = ROLES_API_VERSION
SUBSCRIPTION_PERMISSIONS_API_VERSION = "2015-07-01"
_PERMISSIONS_PATH = "{scope}/providers/Microsoft.Authorization/permissions"
_VERSION_REFUSALS = frozenset({"noregisteredproviderfound", "invalidapiversionparameter"})
_ASSIGNMENT_PATH = "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
_RESOURCE_GROUP_IN_PATH = re.compile(r"/subscriptions/([^/]+)/resourceGroups/([^/]+)", re.IGNORECASE)
# ARM's 403 names both (Azure/Azure-Landing-Zones#3668; "Troubleshoot Azure RBAC" on Learn).
_REFUSED_ACTION = re.compile(r"perform action '([^']+)' over scope '([^']+)'")


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

    async def _send(self, call: Call) -> httpx.Response:
        """Send `call`; ARM's refusals that say what to fix become errors that say it to the operator."""
        try:
            return await self._http.send(call)
        except PermanentServiceError as error:
            raise explained_refusal(call, error) from error

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
        call = self._call("GET", address.path, IDENTITY_PATH, MSI_API_VERSION)
        try:
            response = await self._send(call)
        except ResourceNotFoundError:
            return None
        return identity_from(address, response.json())

    async def create_or_update_identity(
        self, address: IdentityAddress, *, location: str, tags: Mapping[str, str]
    ) -> tuple[ManagedIdentity, bool]:
        """PUT the identity, which replaces it whole; returns it and whether it was created (201)."""
        call = self._call(
            "PUT",
            address.path,
            IDENTITY_PATH,
            MSI_API_VERSION,
            json={"location": location, "tags": dict(tags)},
            pace=self._write_pace(address, per_identity=False),
        )
        response = await self._send(call)
        return identity_from(address, response.json()), response.status_code == 201

    async def update_identity_tags(
        self, address: IdentityAddress, tags: Mapping[str, str]
    ) -> ManagedIdentity:
        """PATCH the tag set of an existing identity, leaving everything else as its owner set it.

        A PUT would replace the whole resource (isolationScope, say); PATCH changes what the body names
        (contracts/arm-msi/examples/IdentityUpdate.json). `tags` is the whole new set: ARM replaces it.
        """
        call = self._call(
            "PATCH",
            address.path,
            IDENTITY_PATH,
            MSI_API_VERSION,
            json={"tags": dict(tags)},
            pace=self._write_pace(address, per_identity=False),
        )
        return identity_from(address, (await self._send(call)).json())

    async def delete_identity(self, address: IdentityAddress) -> bool:
        """True when something was deleted (200, empty body), False when it was already gone (204)."""
        call = self._call(
            "DELETE",
            address.path,
            IDENTITY_PATH,
            MSI_API_VERSION,
            pace=self._write_pace(address, per_identity=False),
        )
        response = await self._send(call)
        return response.status_code != 204

    async def list_identities(self, subscription_id: str, resource_group: str) -> list[ManagedIdentity]:
        path = IDENTITIES_PATH.format(sub=subscription_id, rg=resource_group)
        found = []
        async for item in self._pages(self._call("GET", path, IDENTITIES_PATH, MSI_API_VERSION)):
            address = IdentityAddress(subscription_id, resource_group, identity_name(item))
            found.append(identity_from(address, item))
        return found

    # -- federated identity credentials -------------------------------------------------------------------

    async def list_federated_credentials(self, address: IdentityAddress) -> list[StoredCredential]:
        path = f"{address.path}/federatedIdentityCredentials"
        call = self._call("GET", path, IDENTITY_PATH + "/federatedIdentityCredentials", MSI_API_VERSION)
        return [credential_from(item) async for item in self._pages(call)]

    async def get_federated_credential(self, address: IdentityAddress, name: str) -> StoredCredential | None:
        path = f"{address.path}/federatedIdentityCredentials/{quote(name)}"
        call = self._call("GET", path, IDENTITY_PATH + "/federatedIdentityCredentials/{fic}", MSI_API_VERSION)
        try:
            response = await self._send(call)
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
            IDENTITY_PATH + "/federatedIdentityCredentials/{fic}",
            MSI_API_VERSION,
            json=body,
            pace=self._write_pace(address, per_identity=True),
        )
        response = await self._send(call)
        return response.status_code == 201

    async def delete_federated_credential(self, address: IdentityAddress, name: str) -> bool:
        """True when deleted; False when it or its identity was already gone (204, or 404 for the parent)."""
        call = self._call(
            "DELETE",
            f"{address.path}/federatedIdentityCredentials/{quote(name)}",
            IDENTITY_PATH + "/federatedIdentityCredentials/{fic}",
            MSI_API_VERSION,
            pace=self._write_pace(address, per_identity=True),
        )
        try:
            response = await self._send(call)
        except ResourceNotFoundError:
            return False
        return response.status_code != 204

    # -- role assignments --------------------------------------------------------------------------------

    async def get_role_assignment(self, scope: str, name: str) -> RoleAssignment | None:
        path = _ASSIGNMENT_PATH.format(scope=scope, name=name)
        call = self._call("GET", path, _ASSIGNMENT_PATH, ROLES_API_VERSION)
        try:
            response = await self._send(call)
        except ResourceNotFoundError:
            return None
        return assignment_from(response.json())

    async def create_role_assignment(
        self, scope: str, name: str, *, role_definition_id: str, principal_id: str
    ) -> bool:
        """True when created; False when the same (scope, principal, role) already exists under any name."""
        body = {
            "properties": {
                "roleDefinitionId": role_definition_path(scope, role_definition_id),
                "principalId": principal_id,
                # ARM then skips the directory lookup that lags behind a new identity ("Troubleshoot Azure
                # RBAC" on Learn), and ppmi's delegation condition admits only service principals.
                "principalType": "ServicePrincipal",
            }
        }
        call = self._call(
            "PUT",
            _ASSIGNMENT_PATH.format(scope=scope, name=name),
            _ASSIGNMENT_PATH,
            ROLES_API_VERSION,
            json=body,
            pace=_scope_write_pace(scope),
        )
        try:
            await self._send(call)
        except ResourceExistsError:
            return False
        return True

    async def delete_role_assignment(self, scope: str, name: str) -> bool:
        """True when deleted (200, with the deleted assignment as its body), False when absent (204)."""
        call = self._call(
            "DELETE",
            _ASSIGNMENT_PATH.format(scope=scope, name=name),
            _ASSIGNMENT_PATH,
            ROLES_API_VERSION,
            pace=_scope_write_pace(scope),
        )
        response = await self._send(call)
        return response.status_code != 204

    async def list_role_assignments_for_principal(
        self, scope: str, principal_id: str
    ) -> list[RoleAssignment]:
        path = f"{scope}/providers/Microsoft.Authorization/roleAssignments"
        call = self._call(
            "GET", path, "{scope}/providers/Microsoft.Authorization/roleAssignments", ROLES_API_VERSION
        )
        call = replace(call, url=f"{call.url}&$filter=principalId eq '{principal_id}'")
        return [assignment_from(item) async for item in self._pages(call)]

    # -- the caller's own permissions ---------------------------------------------------------------------

    async def list_permissions(self, scope: str) -> list[Permission]:
        """What ppmi's own identity may do at `scope` (a subscription, resource group or resource): one entry
        per role assignment that reaches it. Read-only; asks for nothing but the caller's own rights."""
        path = _PERMISSIONS_PATH.format(scope=scope)
        call = self._call("GET", path, _PERMISSIONS_PATH, PERMISSIONS_API_VERSION)
        try:
            return [permission_from(item) async for item in self._pages(call)]
        except PermanentServiceError as error:
            at_subscription = scope_subscription(scope) is not None and scope.strip("/").count("/") == 1
            if not (at_subscription and error.code.lower() in _VERSION_REFUSALS):
                raise
        call = self._call("GET", path, _PERMISSIONS_PATH, SUBSCRIPTION_PERMISSIONS_API_VERSION)
        return [permission_from(item) async for item in self._pages(call)]

    async def _pages(self, call: Call) -> AsyncIterator[dict[str, Any]]:
        try:
            async for item in paged_items(self._http, call, link_field="nextLink", origin=self._base):
                yield item
        except PermanentServiceError as error:
            raise explained_refusal(call, error) from error


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


def explained_refusal(call: Call, error: PermanentServiceError) -> PpmiError:
    """ARM refusals that only the deployment or the policy can fix, said in their terms (else unchanged)."""
    code = error.code.lower()
    path = urlsplit(call.url).path
    if code == "resourcegroupnotfound":
        group = _RESOURCE_GROUP_IN_PATH.search(path)
        subscription, name = (group[1], group[2]) if group else ("?", "?")
        return MissingResourceGroup(
            f"resource group {name!r} does not exist in subscription {subscription}: create it (azd up "
            "creates the policy's identity.resourceGroup) or name an existing one in identity.resourceGroup; "
            f"ARM answered {call.name}: {error.service_message}"
        )
    if code == "authorizationfailed":
        refused = _REFUSED_ACTION.search(error.service_message)
        action, scope = (refused[1], refused[2]) if refused else (call.name, path)
        return MissingRight(
            call=call.name,
            message=f"ppmi's identity may not {action} at {scope}: {_right_hint(action, scope)}. "
            f"ARM said: {error.service_message}",
            action=action,
            scope=scope,
        )
    if code == "roledefinitiondoesnotexist":
        return PermanentServiceError(
            service=error.service,
            call=error.call,
            status=error.status,
            code=error.code,
            message=f"the role definition does not exist for this scope; correct the policy's "
            f"roleGrants[].roleDefinitionId ({error.service_message})",
        )
    return error


def _right_hint(action: str, scope: str) -> str:
    if action.lower().startswith("microsoft.keyvault/vaults/"):
        return (
            "ppmi reads and writes access policies only of the vaults in keyVaultAccessPolicies "
            "(PPMI_KEY_VAULT_IDS): after changing them run `ppmi policy deployment-parameters` and "
            "azd provision"
        )
    if action.lower().endswith("/read") and not action.lower().startswith("microsoft.managedidentity/"):
        return (
            "ppmi may read only within its identity resource group and PPMI_GRANT_SCOPES; give its identity "
            "Reader at that scope"
        )
    if action.lower().startswith("microsoft.managedidentity/"):
        group = _RESOURCE_GROUP_IN_PATH.search(scope)
        where = f"resource group {group[2]!r}" if group else "the identity resource group"
        return (
            f"it needs Managed Identity Contributor on {where}, which azd provision grants on the policy's "
            "identity.resourceGroup (PPMI_IDENTITY_RESOURCE_GROUP)"
        )
    if action.lower().startswith("microsoft.authorization/roleassignments/"):
        return (
            "ppmi may write and delete role assignments only of the policy's roleGrants roles, for service "
            "principals, within PPMI_GRANT_SCOPES: after changing roleGrants run `ppmi policy "
            "deployment-parameters` and azd provision"
        )
    return "grant ppmi's identity a role that allows it at that scope"
