"""The ARM actions each step of ppmi needs, where it needs them, and the role that holds them.

The actions are the ones ppmi's own calls perform (shared/clients/arm.py, keyvault.py), named as the roles
infra/ assigns list them: Managed Identity Contributor on the identity resource group (infra/app/identity-
contributor.bicep) and Role Based Access Control Administrator on each grant scope (infra/app/role-
delegation-*.bicep), both in contracts/arm-authorization/learn_built-in-roles.ppmi-deployment-roles.
excerpt.md; the vault role on each vault of keyVaultAccessPolicies (infra/app/key-vault-access-policies.
bicep; its actions in contracts/keyvault/azure-docs_rbac-permissions-security.Microsoft.KeyVault-vaults.
excerpt.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.diagnosis import Severity
from shared.engine import listing_scopes
from shared.policy import Policy

IDENTITIES = "Microsoft.ManagedIdentity/userAssignedIdentities"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
MI_CONTRIBUTOR = "Managed Identity Contributor"
RBAC_ADMINISTRATOR = "Role Based Access Control Administrator"
VAULT_ROLE = "ppmi's vault role (vaults/read, vaults/accessPolicies/write)"
LEARN_ROLES = "https://learn.microsoft.com/azure/role-based-access-control/built-in-roles"


@dataclass(frozen=True)
class Need:
    """One action, what ppmi does with it, and the built-in role of the deployment that holds it."""

    action: str
    step: str
    role: str


IDENTITY_GROUP_NEEDS = (
    Need(f"{IDENTITIES}/read", "read and list the identities", MI_CONTRIBUTOR),
    Need(f"{IDENTITIES}/write", "create identities and set their tags", MI_CONTRIBUTOR),
    Need(f"{IDENTITIES}/delete", "delete an environment's identity on tear-down", MI_CONTRIBUTOR),
    Need(f"{IDENTITIES}/federatedIdentityCredentials/read", "read the FICs", MI_CONTRIBUTOR),
    Need(f"{IDENTITIES}/federatedIdentityCredentials/write", "add FICs", MI_CONTRIBUTOR),
    Need(
        f"{IDENTITIES}/federatedIdentityCredentials/delete",
        "remove the FICs of signers that left the policy",
        MI_CONTRIBUTOR,
    ),
)
GRANT_SCOPE_NEEDS = (
    Need(f"{ROLE_ASSIGNMENTS}/read", "read its own assignment before writing it", RBAC_ADMINISTRATOR),
    Need(f"{ROLE_ASSIGNMENTS}/write", "grant the policy's roles", RBAC_ADMINISTRATOR),
    Need(f"{ROLE_ASSIGNMENTS}/delete", "revoke the grants the policy dropped", RBAC_ADMINISTRATOR),
)
VAULT_NEEDS = (
    Need(
        "Microsoft.KeyVault/vaults/read",
        "read the vault's authorisation mode and access policies",
        VAULT_ROLE,
    ),
    Need(
        "Microsoft.KeyVault/vaults/accessPolicies/write",
        "add and remove its access policy entries",
        VAULT_ROLE,
    ),
)
LISTING_NEEDS = (
    Need(
        f"{ROLE_ASSIGNMENTS}/read",
        "list its assignments to find the grants the policy dropped",
        RBAC_ADMINISTRATOR,
    ),
)


@dataclass(frozen=True)
class ScopeNeeds:
    """Where ppmi acts, why there, the actions it needs there, and how much a missing one matters."""

    scope: str
    purpose: str
    needs: tuple[Need, ...]
    # A refused listing only leaves grants the policy dropped unrevoked there (a skipped step): a warning.
    severity: Severity = Severity.ERROR


def scopes_to_check(
    policy: Policy, environment_ids: Iterable[str], delegated: Sequence[str] | None
) -> tuple[list[ScopeNeeds], list[str]]:
    """Every scope ppmi reads or writes in ARM with the actions it needs there, and the grant templates that
    name no scope before an environment exists (none given). `delegated`: PPMI_GRANT_SCOPES, where the
    running deployment lets ppmi assign roles (the listing of its grants reads there, `listing_scopes`)."""
    identity = policy.identity
    if identity.subscription_id is None or identity.resource_group is None:
        return [], []  # an app registration: no identities in ARM and no role grants
    subscription, group = identity.subscription_id, identity.resource_group
    found: dict[str, ScopeNeeds] = {}

    def add(item: ScopeNeeds) -> None:
        known = found.setdefault(item.scope.lower(), item)
        if known is not item:
            needs = (*known.needs, *(n for n in item.needs if n not in known.needs))
            severity = Severity.ERROR if Severity.ERROR in (known.severity, item.severity) else known.severity
            found[item.scope.lower()] = ScopeNeeds(known.scope, known.purpose, needs, severity)

    identity_group = f"/subscriptions/{subscription}/resourceGroups/{group}"
    add(ScopeNeeds(identity_group, "identity resource group", IDENTITY_GROUP_NEEDS))
    unfilled: list[str] = []
    environments = list(environment_ids)
    for index, grant in enumerate(policy.role_grants):
        label = f"roleGrants[{index}] scope"
        if "{environmentId}" not in grant.scope:
            fills = [""]
        else:
            fills = environments
            if not environments:
                unfilled.append(grant.scope)
        for environment_id in fills:
            scope = grant.scope_for(
                subscription_id=subscription, resource_group=group, environment_id=environment_id
            )
            add(ScopeNeeds(scope, label, GRANT_SCOPE_NEEDS))
    for entry in policy.key_vault_access_policies:
        vault = entry.vault_for(subscription_id=subscription, resource_group=group)
        add(ScopeNeeds(vault, "keyVaultAccessPolicies vault", VAULT_NEEDS))
    for scope in listing_scopes(policy, delegated):
        add(ScopeNeeds(scope, "where ppmi lists its own grants", LISTING_NEEDS, Severity.WARNING))
    return list(found.values()), unfilled
