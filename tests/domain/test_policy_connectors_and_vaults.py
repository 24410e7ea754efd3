"""The policy's `connectors` and `keyVaultAccessPolicies` sections: least privilege by default, and every
value that could widen access or miss a vault refused with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.policy import Policy, PolicyError, parse_policy

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
VAULT = (
    "/subscriptions/{subscriptionId}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-plugins"
)
APP = "3b676527-d646-4775-971c-3df4e00b251b"
OBJECT = "9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"
TWICE = (
    f"applications: [{{applicationId: {APP}, objectId: {OBJECT}}}, "
    f"{{applicationId: {APP}, objectId: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d}}]"
)


def policy(extra: str) -> Policy:
    text = f"""\
version: 1
tenantId: {TENANT}
identity: {{subscriptionId: {TENANT}, resourceGroup: rg, location: westeurope}}
{extra}"""
    return parse_policy(text, Path())


def refusal(extra: str) -> PolicyError:
    with pytest.raises(PolicyError) as refused:
        policy(extra)
    return refused.value


def test_an_access_policy_grants_get_on_secrets_unless_it_says_more() -> None:
    (entry,) = policy(f"keyVaultAccessPolicies:\n  - vault: '{VAULT}'\n").key_vault_access_policies

    assert entry.permissions.by_category() == {"secrets": ("get",), "keys": (), "certificates": ()}
    assert entry.vault_for(subscription_id=TENANT, resource_group="rg") == VAULT.replace(
        "{subscriptionId}", TENANT
    )


def test_permission_names_are_spelled_as_the_key_vault_api_spells_them() -> None:
    extra = f"keyVaultAccessPolicies:\n  - vault: '{VAULT}'\n    permissions: {{keys: [UNWRAPKEY, Get]}}\n"

    (entry,) = policy(extra).key_vault_access_policies

    assert entry.permissions.keys == ["unwrapKey", "get"]


ENVIRONMENT_VAULT = (
    "/subscriptions/{subscriptionId}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-{environmentId}"
)
DOTTED = "/subscriptions/{subscriptionId}/resourceGroups/rg/../providers/Microsoft.KeyVault/vaults/kv"
VAULTS = "keyVaultAccessPolicies[0]"


@pytest.mark.parametrize(
    ("vault", "permissions", "field", "words"),
    [
        (VAULT, "{secrets: [all]}", f"{VAULTS}.permissions.secrets", "one by one"),
        (VAULT, "{secrets: [read]}", f"{VAULTS}.permissions.secrets", "not a secrets permission"),
        (VAULT, "{secrets: []}", f"{VAULTS}.permissions", "grants nothing"),
        (VAULT, "{storage: [get]}", f"{VAULTS}.permissions.storage", "not a policy key"),
        (
            "/subscriptions/{subscriptionId}/resourceGroups/rg",
            "{}",
            f"{VAULTS}.vault",
            "key vault's resource ID",
        ),
        (ENVIRONMENT_VAULT, "{}", f"{VAULTS}.vault", "{environmentId}"),
        (DOTTED, "{}", f"{VAULTS}.vault", "segment"),
    ],
)
def test_access_policies_that_would_widen_access_or_miss_the_vault_are_refused(
    vault: str, permissions: str, field: str, words: str
) -> None:
    refused = refusal(f"keyVaultAccessPolicies:\n  - vault: '{vault}'\n    permissions: {permissions}\n")

    assert refused.field == field
    assert words in str(refused)


def test_a_vault_listed_twice_is_refused() -> None:
    again = VAULT.replace("rg-secrets", "RG-SECRETS")

    refused = refusal(f"keyVaultAccessPolicies:\n  - vault: '{VAULT}'\n  - vault: '{again}'\n")

    assert "a second time" in str(refused)


def test_connectors_may_use_only_the_listed_apps_and_their_values_are_kept_lowercase() -> None:
    extra = f"connectors:\n  applications:\n    - {{applicationId: {APP.upper()}, objectId: {OBJECT}}}\n"

    connectors = policy(extra).connectors

    assert connectors.application(APP) is not None
    assert connectors.application(OBJECT) is None
    assert connectors.redirect_hosts == ["global.consent.azure-apim.net"]


@pytest.mark.parametrize(
    ("section", "words"),
    [
        (TWICE, "twice"),
        ("redirectHosts: ['*.azure-apim.net']", "no scheme, port, path or wildcard"),
        ("redirectHosts: ['https://global.consent.azure-apim.net']", "no scheme"),
        ("subjectPrefix: /eid1/c/pub/t/", "must hold {encodedTenantId}"),
        ("subjectPrefix: '/eid1/{tenantId}/{encodedTenantId}/'", "knows only the placeholders"),
        ("subjectPrefix: 'eid1/{encodedTenantId}/'", "must start with '/'"),
    ],
)
def test_connector_settings_that_would_let_foreign_values_through_are_refused(
    section: str, words: str
) -> None:
    refused = refusal(f"connectors:\n  {section}\n")

    assert words in str(refused)
