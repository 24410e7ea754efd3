"""Vaults in the sandbox and policies that name them in keyVaultAccessPolicies."""

from __future__ import annotations

from typing import Any

from sandbox.server import Sandbox
from tests.engine.conftest import signers, write_policy

__all__ = ["signers", "write_policy"]  # the engine's fixtures, shared with these tests

FOREIGN_PRINCIPAL = "0b7c4d2e-6f1a-4c3b-9e8d-7a6b5c4d3e2f"


def access_policies_section(*vaults: tuple[str, str]) -> str:
    """`keyVaultAccessPolicies` for (vault resource ID, permissions YAML or '' for the default)."""
    lines = ["keyVaultAccessPolicies:"]
    for vault_id, permissions in vaults:
        lines.append(f"  - vault: {vault_id}")
        if permissions:
            lines.append(f"    permissions: {permissions}")
    return "\n".join(lines) + "\n"


def vault_entries(sandbox: Sandbox, vault_id: str) -> list[dict[str, Any]]:
    (vault,) = [v for v in sandbox.control.dump()["vaults"] if v["id"] == vault_id]
    return list(vault["properties"]["accessPolicies"])


def entry_of(sandbox: Sandbox, vault_id: str, principal_id: str) -> list[dict[str, Any]]:
    return [e for e in vault_entries(sandbox, vault_id) if e["objectId"].lower() == principal_id.lower()]


def principal_of_only_identity(sandbox: Sandbox) -> str:
    (identity,) = sandbox.control.dump()["identities"]
    return str(identity["properties"]["principalId"])


def foreign_entry(tenant_id: str) -> dict[str, Any]:
    """Someone else's entry, written in the portal's casing."""
    return {
        "objectId": FOREIGN_PRINCIPAL,
        "tenantId": tenant_id,
        "permissions": {"secrets": ["Get", "List"], "keys": ["Get"]},
    }
