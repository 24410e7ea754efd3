"""The deployment gives the app access policy rights exactly on the policy's vaults, and says when the azd
environment has fallen behind the policy."""

from __future__ import annotations

import json
from pathlib import Path

from shared.deployment import DeploymentParameters, deployment_parameters, drift
from shared.policy import parse_policy

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
VAULT = (
    "/subscriptions/{subscriptionId}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-legacy"
)
FILLED = VAULT.replace("{subscriptionId}", TENANT)


def parameters_for_one_vault() -> DeploymentParameters:
    policy = parse_policy(
        f"""\
version: 1
tenantId: {TENANT}
identity: {{subscriptionId: {TENANT}, resourceGroup: rg-ppmi, location: westeurope}}
keyVaultAccessPolicies:
  - vault: '{VAULT}'
""",
        Path(),
    )
    return deployment_parameters(policy)


def test_the_vaults_become_a_parameter_with_their_placeholders_filled() -> None:
    parameters = parameters_for_one_vault()

    assert parameters.as_json()["PPMI_KEY_VAULT_IDS"] == [FILLED]
    assert f"azd env set PPMI_KEY_VAULT_IDS '[\"{FILLED}\"]'" in parameters.as_azd_commands()


def test_an_environment_without_the_vault_is_a_mismatch_naming_it_and_with_it_is_in_step() -> None:
    parameters = parameters_for_one_vault()
    environment = {
        "PPMI_IDENTITY_RESOURCE_GROUP": "rg-ppmi",
        "PPMI_GRANTED_ROLE_IDS": "[]",
        "PPMI_GRANT_SCOPES": "[]",
    }

    behind = drift(parameters, environment)
    in_step = drift(parameters, environment | {"PPMI_KEY_VAULT_IDS": json.dumps([FILLED.upper()])})

    assert behind == [f"PPMI_KEY_VAULT_IDS lacks {FILLED}: access policies there would fail with 403"]
    assert in_step == []
