"""The Key Vault management stand-in: what the official SDK sees, and the rules it enforces with their sources
(docs/sandbox.md)."""

from __future__ import annotations

from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.keyvault import KeyVaultManagementClient
from azure.mgmt.keyvault.models import (
    AccessPolicyEntry,
    AccessPolicyUpdateKind,
    Permissions,
    VaultAccessPolicyParameters,
    VaultAccessPolicyProperties,
)

from sandbox.server import Sandbox

GROUP = "rg-secrets"
PRINCIPAL = "2c9e4d1a-7b3f-4a6e-9d8c-1f0e2b3a4c5d"
ARM = "https://management.azure.com"


@pytest.fixture
def keyvault(sandbox: Sandbox) -> KeyVaultManagementClient:
    credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    return KeyVaultManagementClient(
        credential,
        sandbox.env["PPMI_SUBSCRIPTION_ID"],
        base_url=sandbox.url,
        connection_verify=str(sandbox.ca_path),
    )


def entry(sandbox: Sandbox, **permissions: list[str]) -> AccessPolicyEntry:
    return AccessPolicyEntry(
        tenant_id=sandbox.env["PPMI_TENANT_ID"], object_id=PRINCIPAL, permissions=Permissions(**permissions)
    )


def test_the_official_sdk_reads_a_vault_and_adds_and_removes_an_entry(
    sandbox: Sandbox, keyvault: KeyVaultManagementClient
) -> None:
    sandbox.control.create_vault("kv-sdk", resource_group=GROUP, rbac=False)

    vault = keyvault.vaults.get(GROUP, "kv-sdk")
    added = keyvault.vaults.update_access_policy(
        GROUP,
        "kv-sdk",
        AccessPolicyUpdateKind.ADD,
        VaultAccessPolicyParameters(
            properties=VaultAccessPolicyProperties(access_policies=[entry(sandbox, secrets=["get"])])
        ),
    )
    after_add = keyvault.vaults.get(GROUP, "kv-sdk").properties.access_policies
    keyvault.vaults.update_access_policy(
        GROUP,
        "kv-sdk",
        AccessPolicyUpdateKind.REMOVE,
        VaultAccessPolicyParameters(
            properties=VaultAccessPolicyProperties(access_policies=[entry(sandbox, secrets=["get"])])
        ),
    )

    assert vault.properties.enable_rbac_authorization is False
    assert added.properties.access_policies[0].object_id == PRINCIPAL
    assert [(e.object_id, e.permissions.secrets) for e in after_add or ()] == [(PRINCIPAL, ["get"])]
    assert keyvault.vaults.get(GROUP, "kv-sdk").properties.access_policies == []
    with pytest.raises(ResourceNotFoundError):
        keyvault.vaults.get(GROUP, "kv-gone")


async def put(sandbox: Sandbox, vault_id: str, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with sandbox.async_client(ARM, base_url=ARM) as arm:
        reply = await arm.put(
            f"{vault_id}/accessPolicies/{kind}", params={"api-version": "2026-05-15"}, json=body
        )
        return reply.status_code, reply.json()


def policies(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"properties": {"accessPolicies": list(entries)}}


def raw_entry(sandbox: Sandbox, **permissions: list[str]) -> dict[str, Any]:
    return {"tenantId": sandbox.env["PPMI_TENANT_ID"], "objectId": PRINCIPAL, "permissions": permissions}


async def test_remove_matches_permission_names_case_sensitively_as_key_vault_does(sandbox: Sandbox) -> None:
    vault_id = sandbox.control.create_vault(
        "kv-case", access_policies=[raw_entry(sandbox, secrets=["Get", "List"])]
    )

    lower, _ = await put(sandbox, vault_id, "remove", policies(raw_entry(sandbox, secrets=["get", "list"])))
    kept = sandbox.control.dump()["vaults"][0]["properties"]["accessPolicies"]
    exact, _ = await put(sandbox, vault_id, "remove", policies(raw_entry(sandbox, secrets=["Get", "List"])))

    assert lower == 200
    assert kept[0]["permissions"]["secrets"] == ["Get", "List"]
    assert exact == 200
    assert sandbox.control.dump()["vaults"][0]["properties"]["accessPolicies"] == []


async def test_add_merges_without_regard_to_case_and_answers_201_for_a_new_entry(sandbox: Sandbox) -> None:
    vault_id = sandbox.control.create_vault("kv-merge")

    first, body = await put(sandbox, vault_id, "add", policies(raw_entry(sandbox, secrets=["get"])))
    second, _ = await put(sandbox, vault_id, "add", policies(raw_entry(sandbox, secrets=["GET", "list"])))

    (stored,) = sandbox.control.dump()["vaults"][0]["properties"]["accessPolicies"]
    assert (first, second) == (201, 200)
    assert body["type"] == "Microsoft.KeyVault/vaults/accessPolicies"
    assert stored["permissions"]["secrets"] == ["get", "list"]


@pytest.mark.parametrize(
    ("kind", "body_of"),
    [
        ("merge", lambda s: policies(raw_entry(s, secrets=["get"]))),
        ("add", lambda s: {"properties": {}}),
        ("add", lambda s: policies(*[raw_entry(s, secrets=["get"])] * 17)),
        ("add", lambda s: policies({**raw_entry(s, secrets=["get"]), "tenantId": PRINCIPAL})),
        ("add", lambda s: policies(raw_entry(s, secrets=["all-of-them"]))),
    ],
    ids=["unknown kind", "no accessPolicies", "17 entries", "another tenant", "unknown permission"],
)
async def test_requests_the_api_refuses_are_refused_with_400(
    sandbox: Sandbox, kind: str, body_of: Any
) -> None:
    vault_id = sandbox.control.create_vault("kv-refuse")

    status, body = await put(sandbox, vault_id, kind, body_of(sandbox))

    assert status == 400
    assert body["error"]["code"]
    assert sandbox.control.dump()["vaults"][0]["properties"]["accessPolicies"] == []


def test_a_vault_that_does_not_state_its_mode_leaves_the_property_out(
    sandbox: Sandbox, keyvault: KeyVaultManagementClient
) -> None:
    sandbox.control.create_vault("kv-unstated", resource_group=GROUP, rbac=None)

    assert keyvault.vaults.get(GROUP, "kv-unstated").properties.enable_rbac_authorization is None


def test_an_unknown_api_version_is_refused(sandbox: Sandbox) -> None:
    vault_id = sandbox.control.create_vault("kv-version")
    with sandbox.client(ARM, base_url=ARM) as arm:
        reply = arm.get(vault_id, params={"api-version": "2015-06-01"})

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert "2026-05-15" in reply.json()["error"]["message"]
