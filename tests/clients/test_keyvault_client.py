"""The Key Vault client reads what the API sends (the official examples, explicit nulls, unknown categories,
mixed case) and sends the shape the API documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import structlog

from shared.clients.keyvault import AccessPolicy, access_policy_json, vault_from

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "keyvault" / "examples" / "2026-05-15"
VAULT_ID = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/sample-resource-group/providers/Microsoft.KeyVault/vaults/sample-vault"  # noqa: E501


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((CONTRACTS / name).read_text(encoding="utf-8"))
    return loaded


def test_the_official_vault_reply_reads_with_its_mode_unstated_and_permissions_as_spelled() -> None:
    body = example("getVault.json")["responses"]["200"]["body"]

    with structlog.testing.capture_logs() as logs:
        vault = vault_from(VAULT_ID, body)

    assert vault.rbac is None
    assert vault.uses_access_policies
    (entry,) = vault.access_policies
    assert "wrapKey" in entry.holds("keys")
    assert vault.entry_for("00000000-0000-0000-0000-000000000000") == entry
    assert [log["event"] for log in logs] == ["keyvault.rbac_unstated"]


def test_an_add_body_is_the_official_examples_request() -> None:
    request = example("updateAccessPoliciesAdd.json")["parameters"]["parameters"]
    (sent,) = request["properties"]["accessPolicies"]
    entry = AccessPolicy(
        sent["objectId"],
        sent["tenantId"],
        {category: tuple(values) for category, values in sent["permissions"].items()},
    )

    assert access_policy_json(entry) == sent


def test_nulls_and_unknown_parts_of_a_reply_are_read_not_refused() -> None:
    body = {
        "id": VAULT_ID,
        "properties": {
            "tenantId": None,
            "enableRbacAuthorization": True,
            "accessPolicies": [
                {"objectId": "A1", "tenantId": "T", "permissions": {"secrets": None, "storage": ["get"]}},
                {"objectId": "a1", "tenantId": "T", "applicationId": "B2", "permissions": None},
                "not an entry",
            ],
            "somethingNew": {"x": 1},
        },
    }

    vault = vault_from(VAULT_ID, body)

    assert vault.rbac is True
    assert not vault.uses_access_policies
    assert vault.name == "sample-vault"
    assert len(vault.access_policies) == 2
    own = vault.entry_for("a1")
    assert own is not None
    assert own.holds("secrets") == ()
    assert own.application_id is None  # the compound identity's entry is someone else's
