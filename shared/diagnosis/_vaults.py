"""Key vaults: is the identity's access where the vault looks for it? Access policies in an access-policy
vault, role assignments in an Azure RBAC vault (contracts/keyvault/keyvault-2025-05-01.trimmed.json,
`enableRbacAuthorization`: with it true, access policies are ignored; with it false, role assignments grant no
data access). Reads only."""

from __future__ import annotations

import re
from collections.abc import Mapping

from shared.clients.keyvault import PERMISSION_CATEGORIES, KeyVault
from shared.diagnosis import _fixes
from shared.diagnosis._findings import Checked, Evidence, Finding, Severity
from shared.engine import Runtime, wanted_vaults
from shared.errors import PpmiError

_VAULT_IN_SCOPE = re.compile(
    r"(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+)(?:/.*)?",
    re.IGNORECASE,
)

Permissions = Mapping[str, tuple[str, ...]]


def vault_of(scope: str) -> str | None:
    """The vault a role grant's scope lies in (the vault itself, or a secret or key in it), if any."""
    match = _VAULT_IN_SCOPE.fullmatch(scope)
    return match[1] if match else None


async def check_vaults(
    runtime: Runtime, environment_id: str, principal_id: str | None, grant_scopes: tuple[str, ...]
) -> tuple[list[Finding], list[Checked]]:
    """Each access-policy vault of the policy holds the identity's entry; no vault ignores what ppmi gives."""
    findings: list[Finding] = []
    checked: list[Checked] = []
    wanted = wanted_vaults(runtime.policy) if runtime.policy.key_vault_access_policies else {}
    for vault_id, permissions in wanted.items():
        checked.append(Checked("key vault access policy", vault_id))
        vault = await runtime.keyvault.get_vault(vault_id)
        if vault is None:
            findings.append(_missing(vault_id))
        elif not vault.uses_access_policies:
            findings.append(access_policy_ignored(vault_id))
        elif principal_id is not None:
            findings.extend(_entry_findings(vault, principal_id, permissions, environment_id))
    for vault_id in dict.fromkeys(v for v in map(vault_of, grant_scopes) if v and v not in wanted):
        checked.append(Checked("key vault role grant", vault_id))
        vault = await runtime.keyvault.get_vault(vault_id)
        if vault is not None and vault.uses_access_policies:
            findings.append(role_grant_ignored(vault_id))
    return findings, checked


async def policy_vault_warnings(runtime: Runtime) -> list[str]:
    """`ppmi policy validate --check-vaults`: the same mode checks for the policy as a whole."""
    policy = runtime.policy
    settings = policy.identity
    warnings: list[str] = []
    wanted = wanted_vaults(policy) if policy.key_vault_access_policies else {}
    for index, vault_id in enumerate(wanted):
        vault = await _read(runtime, vault_id, warnings)
        if vault is not None and not vault.uses_access_policies:
            warnings.append(f"keyVaultAccessPolicies[{index}]: {access_policy_ignored(vault_id).message}")
    for index, grant in enumerate(policy.role_grants):
        scope = grant.scope.replace("{subscriptionId}", str(settings.subscription_id)).replace(
            "{resourceGroup}", str(settings.resource_group)
        )
        granted_vault = vault_of(scope)
        if granted_vault is None or granted_vault in wanted:
            continue
        if "{environmentId}" in granted_vault:
            warnings.append(
                f"roleGrants[{index}]: the vault differs per environment, so its mode is not checked here; "
                "`ppmi verify` checks it for each environment"
            )
            continue
        vault = await _read(runtime, granted_vault, warnings)
        if vault is not None and vault.uses_access_policies:
            warnings.append(f"roleGrants[{index}]: {role_grant_ignored(granted_vault).message}")
    return warnings


def access_policy_ignored(vault_id: str) -> Finding:
    return Finding(
        code="vault.access_policy_ignored",
        severity=Severity.WARNING,
        message=f"{vault_id} authorises with Azure RBAC (enableRbacAuthorization true) and ignores access "
        "policies, so the policy's keyVaultAccessPolicies entry for it gives plug-ins nothing",
        fix="grant Key Vault Secrets User on the vault under roleGrants, and remove the vault from "
        "keyVaultAccessPolicies",
        evidence=Evidence(expected="enableRbacAuthorization false", actual="true"),
        resource=vault_id,
    )


def role_grant_ignored(vault_id: str) -> Finding:
    return Finding(
        code="vault.role_grant_ignored",
        severity=Severity.WARNING,
        message=f"{vault_id} authorises data access with access policies, so a role grant there gives "
        "plug-ins no access to its secrets, keys or certificates",
        fix="list the vault under keyVaultAccessPolicies in the policy (ppmi then writes the identity's "
        "entry), or switch the vault to Azure RBAC",
        evidence=Evidence(expected="enableRbacAuthorization true", actual="false or not stated"),
        resource=vault_id,
    )


def _entry_findings(
    vault: KeyVault, principal_id: str, permissions: Permissions, environment_id: str
) -> list[Finding]:
    entry = vault.entry_for(principal_id)
    held = {c: {v.lower() for v in entry.holds(c)} if entry else set() for c in PERMISSION_CATEGORIES}
    missing = [
        f"{c} {v}" for c in PERMISSION_CATEGORIES for v in permissions.get(c, ()) if v.lower() not in held[c]
    ]
    wanted = {c: {v.lower() for v in permissions.get(c, ())} for c in PERMISSION_CATEGORIES}
    extra = [
        f"{c} {v}"
        for c in PERMISSION_CATEGORIES
        for v in (entry.holds(c) if entry else ())
        if v.lower() not in wanted[c]
    ]
    findings = []
    if missing:
        findings.append(
            Finding(
                code="vault.access_policy_missing",
                severity=Severity.ERROR,
                message=f"the identity's access policy entry in {vault.name} lacks {', '.join(missing)}, so "
                "Key Vault refuses plug-ins those operations (403)",
                fix=f"run `{_fixes.reconcile(environment_id)}` to write the entry the policy asks for",
                evidence=Evidence(
                    expected=", ".join(missing), actual="not in the entry" if entry else "no entry"
                ),
                resource=vault.id,
            )
        )
    if extra:
        findings.append(
            Finding(
                code="vault.access_policy_wider",
                severity=Severity.WARNING,
                message=f"the identity's entry in {vault.name} also allows {', '.join(extra)}, which the "
                "policy does not grant",
                fix=f"run `{_fixes.reconcile(environment_id)}`; it removes what the policy does not list",
                evidence=Evidence(expected="only the policy's permissions", actual=", ".join(extra)),
                resource=vault.id,
            )
        )
    return findings


def _missing(vault_id: str) -> Finding:
    return Finding(
        code="vault.missing",
        severity=Severity.ERROR,
        message=f"the key vault {vault_id} named in keyVaultAccessPolicies does not exist",
        fix="correct the vault's resource ID in the policy, or remove the entry",
        evidence=Evidence(expected="the vault", actual="not found"),
        resource=vault_id,
    )


async def _read(runtime: Runtime, vault_id: str, warnings: list[str]) -> KeyVault | None:
    try:
        vault = await runtime.keyvault.get_vault(vault_id)
    except PpmiError as error:
        warnings.append(f"cannot read {vault_id} ({error}); give the app Reader on it to have it checked")
        return None
    if vault is None:
        warnings.append(f"{vault_id} does not exist")
    return vault
