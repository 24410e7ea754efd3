"""An identity gets exactly one entry with the policy's permissions in each access-policy vault; only ppmi's
entries in vaults ppmi wrote to are ever changed or removed."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import open_runtime, process
from shared.events import Event
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed, writes
from tests.keyvault.conftest import (
    access_policies_section,
    entry_of,
    foreign_entry,
    principal_of_only_identity,
    vault_entries,
)


async def converge(policy: Policy, *events: Event) -> list[str]:
    """Process the events under `policy`; the outcomes, in order."""
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        return [(await process(incoming, runtime)).outcome for incoming in events]


async def provisioned_with_one_vault(sandbox: Sandbox, write_policy: PolicyWriter) -> tuple[str, str, Policy]:
    """An environment provisioned under a policy naming one vault: (vault, environment, policy)."""
    vault_id = sandbox.control.create_vault("kv-plugins")
    environment = sandbox.control.create_environment(display_name="Sales").id
    policy = write_policy(extra=access_policies_section((vault_id, "")))
    assert await converge(policy, event("environment.created", environment)) == ["succeeded"]
    return vault_id, environment, policy


async def test_the_identity_gets_one_entry_updated_with_the_policy_and_removed_on_teardown(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    tenant = sandbox.env["PPMI_TENANT_ID"]
    vault_id = sandbox.control.create_vault("kv-plugins", access_policies=[foreign_entry(tenant)])
    environment = sandbox.control.create_environment(display_name="Sales").id
    first = write_policy(extra=access_policies_section((vault_id, "")))
    assert await converge(first, event("environment.created", environment)) == ["succeeded"]
    principal = principal_of_only_identity(sandbox)
    (entry,) = entry_of(sandbox, vault_id, principal)
    assert entry["permissions"] == {"secrets": ["get"], "keys": [], "certificates": []}
    assert entry["tenantId"] == tenant

    wider = access_policies_section((vault_id, "{secrets: [get, list], keys: [unwrapKey]}"))
    assert await converge(write_policy(extra=wider), event("environment.reconcile", environment)) == [
        "succeeded"
    ]
    (entry,) = entry_of(sandbox, vault_id, principal)
    assert {k: sorted(v) for k, v in entry["permissions"].items() if v} == {
        "secrets": ["get", "list"],
        "keys": ["unwrapKey"],
    }

    narrower = access_policies_section((vault_id, "{secrets: [list]}"))
    assert await converge(write_policy(extra=narrower), event("environment.reconcile", environment)) == [
        "succeeded"
    ]
    (entry,) = entry_of(sandbox, vault_id, principal)
    assert {k: v for k, v in entry["permissions"].items() if v} == {"secrets": ["list"]}

    assert await converge(write_policy(extra=narrower), event("environment.deleted", environment)) == [
        "succeeded"
    ]
    assert entry_of(sandbox, vault_id, principal) == []
    assert vault_entries(sandbox, vault_id) == [foreign_entry(tenant)]


async def test_a_converged_vault_is_read_again_and_not_written(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    _, environment, policy = await provisioned_with_one_vault(sandbox, write_policy)
    before = len(sandbox.requests)

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.reconcile", environment))

    assert writes(sandbox, before) == []
    assert [s.outcome for s in report.steps if s.step == "key-vault-access"] == ["unchanged"]


async def test_permissions_the_vault_spells_in_another_case_are_removed_as_it_spells_them(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    vault_id, environment, policy = await provisioned_with_one_vault(sandbox, write_policy)
    principal = principal_of_only_identity(sandbox)
    async with sandbox.async_client(ARM, base_url=ARM) as arm:  # an administrator widens it in the portal
        body = {"properties": {"accessPolicies": [portal_entry(sandbox, principal)]}}
        reply = await arm.put(
            f"{vault_id}/accessPolicies/add", params={"api-version": "2026-05-15"}, json=body
        )
        reply.raise_for_status()

    assert await converge(policy, event("environment.reconcile", environment)) == ["succeeded"]

    (entry,) = entry_of(sandbox, vault_id, principal)
    assert {k: v for k, v in entry["permissions"].items() if v} == {"secrets": ["get"]}


async def test_a_vault_the_policy_drops_loses_the_entry_and_others_keep_theirs(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    tenant = sandbox.env["PPMI_TENANT_ID"]
    kept = sandbox.control.create_vault("kv-kept")
    dropped = sandbox.control.create_vault("kv-dropped", access_policies=[foreign_entry(tenant)])
    environment = sandbox.control.create_environment(display_name="Sales").id
    both = write_policy(extra=access_policies_section((kept, ""), (dropped, "")))
    await converge(both, event("environment.created", environment))
    principal = principal_of_only_identity(sandbox)

    assert await converge(
        write_policy(extra=access_policies_section((kept, ""))), event("environment.reconcile", environment)
    ) == ["succeeded"]

    assert len(entry_of(sandbox, kept, principal)) == 1
    assert vault_entries(sandbox, dropped) == [foreign_entry(tenant)]
    (identity,) = sandbox.control.dump()["identities"]
    assert list(identity["tags"].values()).count(kept) == 1
    assert dropped not in identity["tags"].values()


async def test_an_rbac_vault_gets_no_access_policy_and_the_step_says_why(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    vault_id = sandbox.control.create_vault("kv-rbac", rbac=True)
    environment = sandbox.control.create_environment(display_name="Sales").id
    policy = write_policy(extra=access_policies_section((vault_id, "")))

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.created", environment))

    (step,) = [s for s in report.steps if s.step == "key-vault-access"]
    assert step.outcome == "skipped"
    assert "roleGrants" in (step.detail or "")
    assert vault_entries(sandbox, vault_id) == []


async def test_a_vault_that_does_not_say_its_mode_is_treated_as_access_policies(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    vault_id = sandbox.control.create_vault("kv-unstated", rbac=None)
    environment = sandbox.control.create_environment(display_name="Sales").id
    await converge(
        write_policy(extra=access_policies_section((vault_id, ""))), event("environment.created", environment)
    )

    assert len(entry_of(sandbox, vault_id, principal_of_only_identity(sandbox))) == 1


async def test_a_missing_vault_fails_the_event_naming_it(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    vault_id = (
        f"/subscriptions/{subscription}/resourceGroups/rg-secrets/providers/Microsoft.KeyVault/vaults/kv-gone"
    )
    sandbox.control.create_resource_group("rg-secrets")
    environment = sandbox.control.create_environment(display_name="Sales").id
    policy = write_policy(extra=access_policies_section((vault_id, "")))

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment), runtime)

    assert report.outcome == "failed"
    assert "kv-gone" in (report.reason or "")


async def test_an_app_registration_identity_is_skipped_with_the_reason(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    application = sandbox.control.create_application("ppmi plug-ins")
    vault_id = sandbox.control.create_vault("kv-plugins")
    environment = sandbox.control.create_environment(display_name="Sales").id
    policy = write_policy(
        identity=(
            "strategy: app-registration\n"
            f"applicationObjectId: {application.object_id}\napplicationId: {application.app_id}"
        ),
        extra=access_policies_section((vault_id, "")),
    )

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.created", environment))

    (step,) = [s for s in report.steps if s.step == "key-vault-access"]
    assert step.outcome == "skipped"
    assert vault_entries(sandbox, vault_id) == []


ARM = "https://management.azure.com"


def portal_entry(sandbox: Sandbox, principal: str) -> dict[str, object]:
    return {
        "objectId": principal,
        "tenantId": sandbox.env["PPMI_TENANT_ID"],
        "permissions": {"secrets": ["List", "Set"]},
    }
