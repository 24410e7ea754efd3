"""Applying the access steps beside the FICs: an app registration's redirect URIs, key vault access policies.

Each is a read-modify-write of something others share (the app's URI list, the vault's policy list), so each
reads first and changes exactly one entry; a vault removal is read back, because Key Vault answers 200 to a
`remove` that matched nothing (contracts/keyvault/issue_azure-rest-api-specs-42963.accessPolicies-remove-
casing.md).
"""

from __future__ import annotations

from shared.clients.keyvault import PERMISSION_CATEGORIES, AccessPolicy
from shared.engine._model import AddRedirectUri, GrantVaultAccess, RemoveRedirectUri, RevokeVaultAccess
from shared.engine._runtime import Runtime
from shared.errors import PermanentError
from shared.events import StepOutcome

AccessAction = AddRedirectUri | RemoveRedirectUri | GrantVaultAccess | RevokeVaultAccess


def describe_access(action: AccessAction) -> tuple[str, str, str, str | None]:
    """(step, target, change, detail) as `ppmi plan` and the result's steps show it."""
    match action:
        case AddRedirectUri(application, uri):
            return "redirect-uri", uri, "create", f"on application {application}"
        case RemoveRedirectUri(application, uri, reason):
            return "redirect-uri", uri, "delete", reason or f"from application {application}"
        case GrantVaultAccess(vault_id, entry):
            return "key-vault-access", vault_id, "update", f"add {permissions_text(entry)}"
        case RevokeVaultAccess(vault_id, entry, reason):
            return "key-vault-access", vault_id, "delete", f"remove {permissions_text(entry)}: {reason}"
    raise AssertionError(f"unknown action {action!r}")  # pragma: no cover - the match is exhaustive


async def run_access(action: AccessAction, runtime: Runtime, outcome: StepOutcome) -> StepOutcome:
    match action:
        case AddRedirectUri(application, uri):
            uris = await _redirect_uris(runtime, application)
            if uri in uris:
                return "unchanged"
            await runtime.graph.set_web_redirect_uris(application, [*uris, uri])
        case RemoveRedirectUri(application, uri):
            uris = await _redirect_uris(runtime, application)
            if uri not in uris:
                return "unchanged"
            await runtime.graph.set_web_redirect_uris(application, [each for each in uris if each != uri])
        case GrantVaultAccess(vault_id, entry):
            await runtime.keyvault.update_access_policy(vault_id, "add", entry)
        case RevokeVaultAccess(vault_id, entry):
            await runtime.keyvault.update_access_policy(vault_id, "remove", entry)
            await _check_removed(runtime, vault_id, entry)
    return outcome


def permissions_text(entry: AccessPolicy) -> str:
    return "; ".join(f"{c} {', '.join(entry.holds(c))}" for c in PERMISSION_CATEGORIES if entry.holds(c))


async def _redirect_uris(runtime: Runtime, application: str) -> list[str]:
    uris = await runtime.graph.get_web_redirect_uris(application)
    if uris is None:
        raise PermanentError(f"the app registration {application} does not exist (or ppmi may not read it)")
    return uris


async def _check_removed(runtime: Runtime, vault_id: str, removed: AccessPolicy) -> None:
    vault = await runtime.keyvault.get_vault(vault_id)
    current = vault.entry_for(removed.object_id) if vault is not None else None
    if current is None:
        return
    left = [
        value
        for category in PERMISSION_CATEGORIES
        for value in removed.holds(category)
        if value in current.holds(category)
    ]
    if left:
        raise PermanentError(
            f"Key Vault accepted the removal from {vault_id} but still lists {', '.join(left)} for "
            f"{removed.object_id}; remove them in the vault's access policies and run the event again"
        )
