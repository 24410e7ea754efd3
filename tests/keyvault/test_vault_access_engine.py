"""An identity gets exactly one entry with the policy's permissions in each access-policy vault."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import open_runtime
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed
from tests.keyvault.conftest import access_policies_section, entry_of, foreign_entry, vault_entries


async def test_the_identity_gets_one_entry_updated_with_the_policy_and_removed_on_teardown(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    tenant = sandbox.env["PPMI_TENANT_ID"]
    vault_id = sandbox.control.create_vault("kv-plugins", access_policies=[foreign_entry(tenant)])
    environment = sandbox.control.create_environment(display_name="Sales").id
    first = write_policy(extra=access_policies_section((vault_id, "")))
    async with open_runtime(Settings.from_env(), first, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment))
    (identity,) = sandbox.control.dump()["identities"]
    principal = identity["properties"]["principalId"]
    (entry,) = entry_of(sandbox, vault_id, principal)
    assert entry["permissions"] == {"secrets": ["get"], "keys": [], "certificates": []}

    second = write_policy(extra=access_policies_section((vault_id, "{secrets: [get, list], keys: [unwrapKey]}")))
    async with open_runtime(Settings.from_env(), second, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.reconcile", environment))
        (entry,) = entry_of(sandbox, vault_id, principal)
        assert {k: sorted(v) for k, v in entry["permissions"].items() if v} == {
            "secrets": ["get", "list"],
            "keys": ["unwrapKey"],
        }
        await succeed(runtime, event("environment.deleted", environment))

    assert entry_of(sandbox, vault_id, principal) == []
    assert vault_entries(sandbox, vault_id) == [foreign_entry(tenant)]
