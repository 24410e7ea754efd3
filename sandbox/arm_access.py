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

import re
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


# The actions of the built-in roles infra/ assigns (contracts/arm-authorization/learn_built-in-roles.ppmi-
# deployment-roles.excerpt.md) and of its vault role (`VAULT_ACTIONS`); with the model off, every caller holds
# Owner's `*`
# (https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles/privileged#owner).
MANAGED_IDENTITY_CONTRIBUTOR = (
    "Microsoft.ManagedIdentity/userAssignedIdentities/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
    "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
    "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Support/*",
)
RBAC_ADMINISTRATOR = (
    "Microsoft.Authorization/roleAssignments/write",
    "Microsoft.Authorization/roleAssignments/delete",
    "*/read",
    "Microsoft.Support/*",
)
OWNER = ("*",)


@dataclass(frozen=True)
class Grant:
    """One role assignment of the caller: the scope it is made at, the role's actions, its ABAC condition."""

    scope: str
    actions: tuple[str, ...]
    conditioned: bool = False

    def reaches(self, scope: str) -> bool:
        """An assignment applies at its scope and everything below it."""
        return _within(scope, self.scope)

    def allows(self, action: str) -> bool:
        return any(_matches(pattern, action) for pattern in self.actions)


def _matches(pattern: str, action: str) -> bool:
    """`*` stands for any run of characters; actions compare without case (Learn: role definitions)."""
    return re.fullmatch(".*".join(map(re.escape, pattern.split("*"))), action, re.IGNORECASE) is not None


def _within(scope: str, container: str) -> bool:
    scope, container = scope.rstrip("/").lower(), container.rstrip("/").lower()
    return scope == container or scope.startswith(container + "/")


class ArmRights:
    """The service identity's rights, derived from the deployment parameters in `ArmAccess`."""

    def __init__(self, access: ArmAccess, subscription_id: str, service_principal_id: str) -> None:
        self._access = access
        self._service_principal_id = service_principal_id.lower()
        subscription = f"/subscriptions/{subscription_id}"
        groups = (f"{subscription}/resourceGroups/{name}" for name in access.identity_resource_groups)
        self._grants = (
            *(Grant(group, MANAGED_IDENTITY_CONTRIBUTOR) for group in groups),
            *(Grant(scope, RBAC_ADMINISTRATOR, conditioned=True) for scope in access.grant_scopes),
            *(Grant(vault, tuple(sorted(VAULT_ACTIONS))) for vault in access.key_vault_ids),
        )

    @property
    def enforced(self) -> bool:
        return self._access.enforced

    def grants(self, caller: Caller | None, scope: str) -> tuple[Grant, ...]:
        """The caller's role assignments that reach `scope` (what the permissions API reports there)."""
        if not self.enforced:
            return (Grant("/", OWNER),)
        if caller is None or caller.object_id != self._service_principal_id:
            return ()
        return tuple(grant for grant in self._grants if grant.reaches(scope))

    def allows(self, caller: Caller | None, ask: Ask) -> bool:
        """Whether any of the caller's role assignments covers `ask` (conditions are checked separately)."""
        return any(grant.allows(ask.action) for grant in self.grants(caller, ask.scope))

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
