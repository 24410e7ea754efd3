"""The policy's `keyVaultAccessPolicies`: vaults that authorise data access with access policies rather than
Azure RBAC, and the permissions the identity gets in each (least privilege by default: `get` on secrets).

Permission names and the vault name rule are the Key Vault management API's
(contracts/keyvault/keyvault-2025-05-01.trimmed.json, `Permissions` and `vaultName`).
"""

from __future__ import annotations

import re
from typing import Annotated, Final

from pydantic import AfterValidator, Field, field_validator

from shared.policy_fields import PolicyModel, invalid
from shared.role_grants import ENVIRONMENT_PLACEHOLDER, ScopeError, check_scope

# contracts/keyvault/keyvault-2025-05-01.trimmed.json, definitions.Permissions: the spelling the spec uses.
# `all` is left out on purpose: it includes `purge` and whatever Key Vault adds later.
KEY_PERMISSIONS: Final = (
    "encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create", "update",
    "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy",
    "setrotationpolicy",
)  # fmt: skip
SECRET_PERMISSIONS: Final = ("get", "list", "set", "delete", "backup", "restore", "recover", "purge")
CERTIFICATE_PERMISSIONS: Final = (
    "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers",
    "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore",
)  # fmt: skip
PERMISSION_NAMES: Final = {
    "secrets": SECRET_PERMISSIONS,
    "keys": KEY_PERMISSIONS,
    "certificates": CERTIFICATE_PERMISSIONS,
}
MAX_VAULTS = 20  # each vault ppmi writes to is recorded as a tag on the identity, which holds at most 50
_VAULT = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[a-zA-Z0-9-]{3,24})",
    re.ASCII,
)


def _vault_id(value: str) -> str:
    if ENVIRONMENT_PLACEHOLDER in value:
        raise invalid(
            "must not hold {environmentId}: an access policy belongs to an identity, not to one environment"
        )
    try:
        canonical = check_scope(value, template=True)
    except ScopeError as error:
        raise invalid(str(error)) from None
    if not _VAULT.fullmatch(canonical):
        raise invalid(
            "must be a key vault's resource ID: /subscriptions/<id>/resourceGroups/<group>/providers/"
            "Microsoft.KeyVault/vaults/<3-24 letters, digits or '-'> ({subscriptionId} and {resourceGroup} "
            "may stand for the identities' own)"
        )
    return canonical


def _permissions(category: str) -> AfterValidator:
    known = {name.lower(): name for name in PERMISSION_NAMES[category]}

    def check(values: list[str]) -> list[str]:
        spelled = []
        for value in values:
            if value.lower() == "all":
                raise invalid(f"must list {category} permissions one by one: 'all' includes purge")
            if value.lower() not in known:
                raise invalid(f"{value!r} is not a {category} permission; use: {', '.join(known.values())}")
            spelled.append(known[value.lower()])
        if len(set(spelled)) != len(spelled):
            raise invalid("names a permission twice")
        return spelled

    return AfterValidator(check)


class VaultPermissions(PolicyModel):
    """What the identity may do in the vault; nothing but `get` on secrets unless the policy says more."""

    secrets: Annotated[list[str], _permissions("secrets")] = Field(default_factory=lambda: ["get"])
    keys: Annotated[list[str], _permissions("keys")] = Field(default_factory=list)
    certificates: Annotated[list[str], _permissions("certificates")] = Field(default_factory=list)

    def by_category(self) -> dict[str, tuple[str, ...]]:
        return {category: tuple(getattr(self, category)) for category in PERMISSION_NAMES}

    @property
    def empty(self) -> bool:
        return not (self.secrets or self.keys or self.certificates)


class KeyVaultAccessPolicy(PolicyModel):
    vault: Annotated[str, Field(min_length=2, max_length=400), AfterValidator(_vault_id)]
    permissions: VaultPermissions = Field(default_factory=VaultPermissions)

    @field_validator("permissions")
    @classmethod
    def _something(cls, permissions: VaultPermissions) -> VaultPermissions:
        if permissions.empty:
            raise invalid("grants nothing; list at least one permission, or remove the vault")
        return permissions

    def vault_for(self, *, subscription_id: str, resource_group: str) -> str:
        """The vault's resource ID with the placeholders filled in, checked again as a resource ID."""
        filled = self.vault.format(subscriptionId=subscription_id, resourceGroup=resource_group)
        return check_scope(filled, template=False)


def duplicate_vault_problem(entries: list[KeyVaultAccessPolicy]) -> str | None:
    """A vault listed twice would get two competing sets of permissions."""
    if len(entries) > MAX_VAULTS:
        return f"lists {len(entries)} vaults; ppmi manages access policies in at most {MAX_VAULTS}"
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        key = entry.vault.lower()
        if key in seen:
            return f"[{index}] names {entry.vault} a second time; give each vault one entry"
        seen.add(key)
    return None


def vault_parts(vault_id: str) -> tuple[str, str, str]:
    """(subscription ID, resource group, vault name) of a filled-in vault resource ID."""
    match = _VAULT.fullmatch(vault_id)
    if match is None:
        raise ValueError(f"{vault_id} is not a key vault resource ID")
    return match["subscription"], match["group"], match["name"]
