"""ppmi's own identity holds exactly the vault rights `azd provision` assigns for the policy, and no more."""

from __future__ import annotations

from sandbox.config import ArmAccess
from sandbox.server import Sandbox
from shared.deployment import deployment_parameters
from shared.engine import open_runtime, process
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event
from tests.keyvault.conftest import access_policies_section, entry_of, principal_of_only_identity


async def test_with_the_deployed_vault_role_the_entry_is_written_without_any_refusal(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    vault_id = sandbox.control.create_vault("kv-plugins")
    policy = write_policy(extra=access_policies_section((vault_id, "")))
    sandbox.configure(arm_access=ArmAccess.deployed(deployment_parameters(policy).as_json()))
    environment = sandbox.control.create_environment(display_name="Sales").id

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment), runtime)

    assert report.outcome == "succeeded", report.reason
    assert len(entry_of(sandbox, vault_id, principal_of_only_identity(sandbox))) == 1
    assert [r.path for r in sandbox.requests if r.status == 403 and "KeyVault" in r.path] == []


async def test_a_vault_added_to_the_policy_without_reprovisioning_fails_naming_the_fix(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    provisioned = sandbox.control.create_vault("kv-provisioned")
    added_later = sandbox.control.create_vault("kv-added-later")
    deployed_for = write_policy(extra=access_policies_section((provisioned, "")))
    sandbox.configure(arm_access=ArmAccess.deployed(deployment_parameters(deployed_for).as_json()))
    policy = write_policy(extra=access_policies_section((provisioned, ""), (added_later, "")))
    environment = sandbox.control.create_environment(display_name="Sales").id

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment), runtime)

    assert report.outcome == "failed"
    reason = report.reason or ""
    assert f"may not Microsoft.KeyVault/vaults/read at {added_later}" in reason
    assert "PPMI_KEY_VAULT_IDS" in reason
    assert "ppmi policy deployment-parameters" in reason
    refused = [r.path for r in sandbox.requests if r.status == 403 and "KeyVault" in r.path]
    assert refused == [added_later]  # permanent: not retried
    assert entry_of(sandbox, added_later, principal_of_only_identity(sandbox)) == []
