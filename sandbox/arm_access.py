"""What ppmi's own identity may do in ARM, as `infra/` grants it, and Azure's 403 for anything beyond.

The deployment gives the app identity three kinds of role assignment (infra/main.bicep):
- Managed Identity Contributor on the identity resource group (infra/app/identity-contributor.bicep):
  identities and their federated credentials there, read access to role assignments there (https://learn.
  microsoft.com/en-us/azure/role-based-access-control/built-in-roles/identity#managed-identity-contributor);
- Role Based Access Control Administrator on each grant scope (infra/app/role-delegation-*.bicep), read access
  to everything there, writes and deletes of role assignments only under the ABAC condition of main.bicep:
  the role is one the policy grants and the principal type is ServicePrincipal (for a delete: the existing
  assignment's);
- a custom role with only `Microsoft.KeyVault/vaults/read` and `.../vaults/accessPolicies/write` on each
  vault of `keyVaultAccessPolicies` (infra/app/key-vault-access-policies.bicep; the actions as
  contracts/keyvault/azure-docs_rbac-permissions-security.Microsoft.KeyVault-vaults.excerpt.md names them).

A call outside those rights answers 403 `AuthorizationFailed` with ARM's message
(Azure/Azure-Landing-Zones#3668); a role assignment write or delete says "does not have authorization or an
ABAC condition not fulfilled", as "Troubleshoot Azure RBAC" quotes it
(https://learn.microsoft.com/en-us/azure/role-based-access-control/troubleshooting).
The model is off unless `SandboxConfig.arm_access.enforced`; then only the service identity holds rights.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from sandbox.config import ArmAccess
from sandbox.errors import error_response
from sandbox.tokens import Caller

ROLE_ASSIGNMENT_ACTIONS = "Microsoft.Authorization/roleAssignments"
VAULT_ACTIONS = frozenset(
    {"Microsoft.KeyVault/vaults/read", "Microsoft.KeyVault/vaults/accessPolicies/write"}
)


@dataclass(frozen=True)
class Ask:
    """One ARM action on one resource ID, as ARM authorises it."""

    action: str
    scope: str

    @property
    def is_read(self) -> bool:
        return self.action.endswith("/read")


def _within(scope: str, container: str) -> bool:
    scope, container = scope.rstrip("/").lower(), container.rstrip("/").lower()
    return scope == container or scope.startswith(container + "/")


class ArmRights:
    """The service identity's rights, derived from the deployment parameters in `ArmAccess`."""

    def __init__(self, access: ArmAccess, subscription_id: str, service_principal_id: str) -> None:
        self._access = access
        self._service_principal_id = service_principal_id.lower()
        self._identity_groups = tuple(
            f"/subscriptions/{subscription_id}/resourceGroups/{group}"
            for group in access.identity_resource_groups
        )

    @property
    def enforced(self) -> bool:
        return self._access.enforced

    def _is_service(self, caller: Caller | None) -> bool:
        return caller is not None and caller.object_id == self._service_principal_id

    def allows(self, caller: Caller | None, ask: Ask) -> bool:
        """Whether any of the caller's role assignments covers `ask` (conditions are checked separately)."""
        if not self.enforced:
            return True
        if not self._is_service(caller):
            return False
        in_identity_group = any(_within(ask.scope, group) for group in self._identity_groups)
        if in_identity_group and (
            ask.action.startswith("Microsoft.ManagedIdentity/userAssignedIdentities/")
            or (ask.is_read and ask.action.startswith("Microsoft.Authorization/"))
            or ask.action == "Microsoft.Resources/subscriptions/resourceGroups/read"
        ):
            return True
        if ask.action in VAULT_ACTIONS and any(_within(ask.scope, v) for v in self._access.key_vault_ids):
            return True
        in_grant_scope = any(_within(ask.scope, scope) for scope in self._access.grant_scopes)
        return in_grant_scope and (ask.is_read or ask.action.startswith(ROLE_ASSIGNMENT_ACTIONS + "/"))

    def condition_holds(self, role_definition_id: str, principal_type: str | None) -> bool:
        """main.bicep's ABAC condition on role assignment writes and deletes."""
        if not self.enforced:
            return True
        granted = {role.lower() for role in self._access.granted_role_definition_ids}
        role = role_definition_id.rstrip("/").rsplit("/", 1)[-1].lower()
        return role in granted and (principal_type or "").lower() == "serviceprincipal"


def authorization_failed(caller: Caller | None, ask: Ask) -> web.Response:
    """ARM's 403 for `ask`; role assignment writes and deletes name the ABAC condition as well."""
    client = caller.app_id if caller is not None else ""
    object_id = caller.object_id if caller is not None else ""
    lacks = "does not have authorization"
    if ask.action.startswith(ROLE_ASSIGNMENT_ACTIONS + "/") and not ask.is_read:
        lacks += " or an ABAC condition not fulfilled"
    return error_response(
        "arm",
        403,
        "AuthorizationFailed",
        f"The client '{client}' with object id '{object_id}' {lacks} to perform action '{ask.action}' "
        f"over scope '{ask.scope}' or the scope is invalid. If access was recently granted, please refresh "
        "your credentials.",
    )
