"""Key vault access policies for an identity: one entry per vault the policy names, exactly its permissions.

Which vaults ppmi wrote an entry in is recorded on the identity itself, one tag per vault
(`ppmi-kv-{hash}` = the vault's resource ID), written before the entry: so an entry the policy no longer asks
for is found and removed, and an entry someone else made in a vault ppmi never wrote to is never touched. A
vault with Azure RBAC authorisation ignores access policies (contracts/keyvault/keyvault-2025-05-01.trimmed
.json, `enableRbacAuthorization`): it is skipped with the reason, and `roleGrants` is the way there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from shared.clients.keyvault import PERMISSION_CATEGORIES, AccessPolicy, KeyVault
from shared.engine._desired import NEW_IDENTITY
from shared.engine._model import (
    Action,
    DeleteIdentity,
    GrantVaultAccess,
    ResolvedIdentity,
    RevokeVaultAccess,
    Skip,
    TagIdentity,
    Unchanged,
)
from shared.engine._runtime import Runtime
from shared.errors import PermanentError
from shared.policy import Policy
from shared.role_grants import ScopeError

STEP = "key-vault-access"
TAG_PREFIX = "ppmi-kv-"


def vault_tag(vault_id: str) -> str:
    return TAG_PREFIX + hashlib.sha256(vault_id.lower().encode()).hexdigest()[:12]


def wanted_vaults(policy: Policy) -> dict[str, Mapping[str, tuple[str, ...]]]:
    """Vault resource ID → permissions, placeholders filled with the identities' subscription and group."""
    settings = policy.identity
    wanted: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for entry in policy.key_vault_access_policies:
        try:
            vault_id = entry.vault_for(
                subscription_id=str(settings.subscription_id), resource_group=str(settings.resource_group)
            )
        except ScopeError as error:
            raise PermanentError(f"keyVaultAccessPolicies {entry.vault}: {error}") from None
        wanted[vault_id] = entry.permissions.by_category()
    return wanted


async def plan_vault_access(runtime: Runtime, identity: ResolvedIdentity) -> list[Action]:
    """Tag, then grant or correct the identity's entry in each vault of the policy; revoke where it left."""
    wanted = wanted_vaults(runtime.policy) if runtime.policy.key_vault_access_policies else {}
    recorded = recorded_vaults(identity.tags)
    if not wanted and not recorded:
        return []
    principal = identity.principal_id
    if identity.target.address is None or principal in (None, NEW_IDENTITY):
        why = "an app registration's service principal is not known to ppmi; add its access policy yourself"
        return [Skip(STEP, vault_id, why) for vault_id in wanted]
    principal = str(principal)
    tags = dict(identity.tags)
    actions: list[Action] = []
    granted: list[Action] = []
    for vault_id, permissions in wanted.items():
        vault = await _vault(runtime, vault_id)
        if not vault.uses_access_policies:
            granted.append(Skip(STEP, vault_id, rbac_reason(vault_id)))
            continue
        tags[vault_tag(vault_id)] = vault_id
        granted.extend(_correct(vault, principal, runtime.policy.tenant_id, permissions))
    if tags != dict(identity.tags):
        actions.append(TagIdentity(identity.target, dict(tags)))
    actions.extend(granted)
    stale = {tag: vault_id for tag, vault_id in recorded.items() if vault_id.lower() not in _lower(wanted)}
    if stale:
        for vault_id in stale.values():
            actions.extend(await revoke_entry(runtime, vault_id, principal, "no longer in the policy"))
        actions.append(TagIdentity(identity.target, {k: v for k, v in tags.items() if k not in stale}))
    return actions


async def revoke_entry(runtime: Runtime, vault_id: str, principal_id: str, reason: str) -> list[Action]:
    """Remove the principal's whole entry, naming its permissions exactly as the vault holds them."""
    vault = await runtime.keyvault.get_vault(vault_id)
    entry = vault.entry_for(principal_id) if vault is not None else None
    if entry is None:
        return [Unchanged(STEP, vault_id, "holds no entry for the identity")]
    return [RevokeVaultAccess(vault_id, entry, reason)]


async def add_vault_teardown(
    runtime: Runtime, identity: ResolvedIdentity, actions: list[Action], *, owned: bool
) -> None:
    """A dedicated identity of ppmi's is about to go: its entries go first (before `DeleteIdentity`), or they
    would stay behind in the vaults as entries for a principal that no longer exists."""
    if not owned or not identity.target.dedicated or not identity.principal_id:
        return
    revocations: list[Action] = []
    for vault_id in recorded_vaults(identity.tags).values():
        revocations.extend(await revoke_entry(runtime, vault_id, identity.principal_id, "the identity goes"))
    position = next((n for n, a in enumerate(actions) if isinstance(a, DeleteIdentity)), len(actions))
    actions[position:position] = revocations


def recorded_vaults(tags: Mapping[str, str]) -> dict[str, str]:
    """The vaults ppmi wrote an entry in for this identity, from its tags (tag → vault resource ID)."""
    return {
        tag: value for tag, value in tags.items() if tag.startswith(TAG_PREFIX) and tag == vault_tag(value)
    }


def rbac_reason(vault_id: str) -> str:
    return (
        f"{vault_id.rsplit('/', 1)[-1]} uses Azure RBAC (enableRbacAuthorization true), which ignores access "
        "policies: grant Key Vault Secrets User on it under roleGrants instead"
    )


def _correct(
    vault: KeyVault, principal_id: str, tenant_id: str, permissions: Mapping[str, tuple[str, ...]]
) -> list[Action]:
    desired = AccessPolicy(
        principal_id, tenant_id, {c: permissions.get(c, ()) for c in PERMISSION_CATEGORIES}
    )
    current = vault.entry_for(principal_id)
    if current is None:
        return [GrantVaultAccess(vault.id, desired)]
    extra = {
        category: tuple(
            v for v in current.holds(category) if v.lower() not in _lower(permissions.get(category, ()))
        )
        for category in PERMISSION_CATEGORIES
    }
    missing = any(
        v.lower() not in _lower(current.holds(category))
        for category in PERMISSION_CATEGORIES
        for v in permissions.get(category, ())
    )
    actions: list[Action] = []
    if any(extra.values()):
        reason = "no longer granted by the policy"
        actions.append(
            RevokeVaultAccess(vault.id, AccessPolicy(principal_id, current.tenant_id, extra), reason)
        )
    if missing or any(extra.values()):  # after a removal: whatever `remove` took, the entry is whole again
        actions.append(GrantVaultAccess(vault.id, desired))
    return actions or [Unchanged(STEP, vault.id, "the entry holds exactly the policy's permissions")]


async def _vault(runtime: Runtime, vault_id: str) -> KeyVault:
    vault = await runtime.keyvault.get_vault(vault_id)
    if vault is None:
        raise PermanentError(
            f"the key vault {vault_id} named in keyVaultAccessPolicies does not exist: fix the policy"
        )
    if vault.tenant_id and vault.tenant_id != runtime.policy.tenant_id:
        raise PermanentError(
            f"the key vault {vault_id} belongs to tenant {vault.tenant_id}; its access policies may only "
            f"name identities of that tenant, not of the policy's tenant {runtime.policy.tenant_id}"
        )
    return vault


def _lower(values: Iterable[str]) -> set[str]:
    return {value.lower() for value in values}
