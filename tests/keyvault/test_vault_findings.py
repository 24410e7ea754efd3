"""`ppmi verify` and `ppmi policy validate --check-vaults` say when a vault ignores what ppmi gives there,
and when the identity's entry lacks what the policy grants."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from shared.cli import main
from shared.engine import open_runtime
from shared.policy import Policy, load_policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, KEY_VAULT_SECRETS_USER, PolicyWriter, event, succeed
from tests.keyvault.conftest import access_policies_section

ARM = "https://management.azure.com"


def provision(policy: Policy, environment_id: str) -> None:
    async def run() -> None:
        async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
            await succeed(runtime, event("environment.created", environment_id))

    asyncio.run(run())


def verified(environment_id: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()  # what provisioning logged
    code = main(["verify", "--environment-id", environment_id, "--output", "json"])
    captured = capsys.readouterr()
    assert captured.out, captured.err
    return code, json.loads(captured.out)


def codes(report: dict[str, Any]) -> list[str]:
    return sorted(finding["code"] for finding in report["findings"])


@pytest.fixture
def policy_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "policy.yaml"
    monkeypatch.setenv("PPMI_POLICY_FILE", str(path))
    return path


def test_an_entry_narrowed_by_hand_is_an_error_naming_the_permission(
    sandbox: Sandbox, write_policy: PolicyWriter, policy_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vault_id = sandbox.control.create_vault("kv-plugins")
    environment = sandbox.control.create_environment(display_name="Sales").id
    policy = write_policy(extra=access_policies_section((vault_id, "{secrets: [get, list]}")))
    provision(policy, environment)
    clean_code, clean = verified(environment, capsys)
    (identity,) = sandbox.control.dump()["identities"]
    entry = {
        "objectId": identity["properties"]["principalId"],
        "tenantId": sandbox.env["PPMI_TENANT_ID"],
        "permissions": {"secrets": ["list"]},
    }
    with sandbox.client(ARM, base_url=ARM) as arm:
        arm.put(
            f"{vault_id}/accessPolicies/remove",
            params={"api-version": "2026-05-15"},
            json={"properties": {"accessPolicies": [entry]}},
        ).raise_for_status()

    code, report = verified(environment, capsys)

    assert (clean_code, codes(clean)) == (0, [])
    assert {"link": "key vault access policy", "target": vault_id} in clean["checked"]
    assert code == 1
    (finding,) = report["findings"]
    assert finding["code"] == "vault.access_policy_missing"
    assert "secrets list" in finding["message"]
    assert "ppmi.environment.reconcile" in finding["fix"]


def with_grant_on(policy_path: Path, vault_id: str) -> Policy:
    """The written policy, with one more role grant: Key Vault Secrets User on `vault_id`."""
    text = policy_path.read_text().replace(
        "roleGrants:\n",
        f"roleGrants:\n  - roleDefinitionId: {KEY_VAULT_SECRETS_USER}\n    scope: {vault_id}\n",
    )
    policy_path.write_text(text)
    return load_policy(policy_path)


def test_a_role_grant_on_an_access_policy_vault_and_an_access_policy_on_an_rbac_vault_are_explained(
    sandbox: Sandbox, write_policy: PolicyWriter, policy_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rbac = sandbox.control.create_vault("kv-rbac", rbac=True)
    legacy = sandbox.control.create_vault("kv-legacy", resource_group="rg-legacy")
    environment = sandbox.control.create_environment(display_name="Sales").id
    write_policy(extra=access_policies_section((rbac, "")))
    provision(with_grant_on(policy_path, legacy), environment)

    code, report = verified(environment, capsys)

    assert code == 0  # warnings only: nothing here stops the token
    assert codes(report) == ["vault.access_policy_ignored", "vault.role_grant_ignored"]


def test_policy_validate_check_vaults_warns_of_mode_mismatches_in_both_directions(
    sandbox: Sandbox, write_policy: PolicyWriter, policy_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rbac = sandbox.control.create_vault("kv-rbac", rbac=True)
    legacy = sandbox.control.create_vault("kv-legacy", resource_group="rg-legacy")
    write_policy(extra=access_policies_section((rbac, "")))
    with_grant_on(policy_path, legacy)
    capsys.readouterr()

    offline = main(["policy", "validate", str(policy_path), "--output", "json"])
    offline_warnings = json.loads(capsys.readouterr().out)["warnings"]
    code = main(["policy", "validate", str(policy_path), "--check-vaults", "--output", "json"])
    warnings = json.loads(capsys.readouterr().out)["warnings"]

    assert offline == 0
    assert [w for w in offline_warnings if not w.startswith("trustedSigners")] == []  # no vault read offline
    assert code == 0
    assert any(
        w.startswith("keyVaultAccessPolicies[0]:") and "ignores access policies" in w for w in warnings
    )
    assert any(w.startswith("roleGrants[0]:") and "access policies" in w for w in warnings)
    assert any("differs per environment" in w for w in warnings)  # the kv-{environmentId} grant
