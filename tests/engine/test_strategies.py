"""Identity strategies: a shared pool of sharded identities, an app registration, and removal of each."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.server import Sandbox
from shared.clients.arm import IdentityAddress
from shared.engine import Runtime, open_runtime, process
from shared.fic import FederatedCredential
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed, writes

POOL = "strategy: shared-pool\npoolName: pool"


def identities(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {identity["name"]: identity for identity in sandbox.control.dump()["identities"]}


async def test_25_environments_in_a_pool_spread_over_two_shards_without_a_single_409(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    policy = write_policy(identity=POOL, trusted=signers[:1])
    environments = [sandbox.control.create_environment(display_name=f"Team {n}") for n in range(25)]
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await asyncio.gather(
            *(succeed(runtime, event("environment.created", environment.id)) for environment in environments)
        )

    shards = identities(sandbox)
    assert sorted(shards) == ["pool-1", "pool-2"]
    counts = sorted(len(shard["federatedIdentityCredentials"]) for shard in shards.values())
    # 25 environments in scope fill two shards of 18 (shardCapacity 20 minus headroom 2): spread over both
    assert counts == [12, 13]
    assert all(record.status != 409 for record in sandbox.requests)
    client_ids = {shard["properties"]["clientId"] for shard in shards.values()}
    for environment in environments:
        (row,) = sandbox.control.rows(environment.id, "managedidentities")
        assert row["applicationid"] in client_ids


async def test_deleting_a_pooled_environment_removes_only_its_own_fic(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    policy = write_policy(identity=POOL, trusted=signers[:1])
    leaving, staying = (sandbox.control.create_environment(display_name=name) for name in ("Old", "New"))
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        for environment in (leaving, staying):
            await succeed(runtime, event("environment.created", environment.id))
        grants_before = len(sandbox.control.dump()["roleAssignments"])
        await succeed(runtime, event("environment.deleted", leaving.id))

    (shard,) = identities(sandbox).values()
    names = [fic["name"] for fic in shard["federatedIdentityCredentials"]]
    assert len(names) == 1
    assert staying.id in names[0]
    assert sandbox.control.rows(leaving.id, "managedidentities") == []
    assert len(sandbox.control.rows(staying.id, "managedidentities")) == 1
    assert len(sandbox.control.dump()["roleAssignments"]) == grants_before - 1


async def test_deleting_an_environment_removes_everything_ppmi_made_for_it(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))
    report = await succeed(runtime, event("environment.deleted", environment.id))

    assert identities(sandbox) == {}
    assert sandbox.control.dump()["roleAssignments"] == []
    assert sandbox.control.rows(environment.id, "managedidentities") == []
    assert {step.outcome for step in report.steps} == {"removed"}


async def test_an_identity_not_tagged_as_ppmis_is_never_deleted_nor_anything_on_it(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    address = await foreign_namesake(runtime, environment.id)
    look_alike = FederatedCredential("https://issuer.example", "subject", "api://AzureADTokenExchange")
    await runtime.arm.create_or_update_federated_credential(address, f"ppmi-{environment.id}-0", look_alike)
    before = len(sandbox.requests)
    report = await succeed(runtime, event("environment.deleted", environment.id))

    assert [(step.step, step.outcome) for step in report.steps] == [("identity", "skipped")]
    assert writes(sandbox, before) == []


async def test_ppmi_refuses_to_take_over_an_identity_that_only_shares_its_name(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    await foreign_namesake(runtime, environment.id)
    before = len(sandbox.requests)
    report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "failed"
    assert "not tagged as ppmi's" in (report.reason or "")
    assert writes(sandbox, before) == []


async def foreign_namesake(runtime: Runtime, environment_id: str) -> IdentityAddress:
    """An identity someone else made under the name ppmi would give the environment's."""
    settings = runtime.policy.identity
    address = IdentityAddress(
        str(settings.subscription_id), str(settings.resource_group), f"ppmi-{environment_id}"
    )
    await runtime.arm.create_or_update_identity(
        address, location="westeurope", tags={"owner": "someone-else"}
    )
    return address


async def test_an_app_registration_gets_its_fics_through_graph(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    application = sandbox.control.create_application("ppmi plug-ins")
    policy = write_policy(
        identity=(
            "strategy: app-registration\n"
            f"applicationObjectId: {application.object_id}\n"
            f"applicationId: {application.app_id}"
        )
    )
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.created", environment.id))
        before = len(sandbox.requests)
        await succeed(runtime, event("environment.created", environment.id))

    (app,) = sandbox.control.dump()["applications"]
    assert len(app["federatedIdentityCredentials"]) == len(signers)
    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    assert row["applicationid"] == application.app_id
    assert identities(sandbox) == {}
    assert ("role-assignment", "skipped") in [(step.step, step.outcome) for step in report.steps]
    assert all(not record.write for record in sandbox.requests[before:])
