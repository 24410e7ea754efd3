"""A batch's held view of ARM and shared-pool placement of a batch's environments, on the sandbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from math import ceil
from typing import Any

from sandbox.requestlog import RequestRecord
from sandbox.server import Sandbox
from shared.clients.arm import IdentityAddress
from shared.engine import Runtime, open_runtime
from shared.engine._naming import pool_tags
from shared.engine._placement import place
from shared.events import Event
from shared.fic import FederatedCredential
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, certificate_reference, event, succeed

AUDIENCE = "api://AzureADTokenExchange"
IDENTITIES_PATH = "/providers/microsoft.managedidentity/userassignedidentities/"
FICS_SEGMENT = "/federatedidentitycredentials"


def arm_requests(sandbox: Sandbox, since: int = 0) -> list[RequestRecord]:
    return [record for record in sandbox.requests[since:] if record.service == "arm"]


def identity_reads(sandbox: Sandbox, name: str, since: int = 0) -> int:
    """GETs of the identity itself (not of its FICs)."""
    return sum(
        1
        for record in arm_requests(sandbox, since)
        if record.method == "GET" and record.path.lower().endswith(f"{IDENTITIES_PATH}{name.lower()}")
    )


def fic_lists(sandbox: Sandbox, name: str, since: int = 0) -> int:
    return sum(
        1
        for record in arm_requests(sandbox, since)
        if record.method == "GET"
        and record.path.lower().endswith(f"{IDENTITIES_PATH}{name.lower()}{FICS_SEGMENT}")
    )


def identity_puts(sandbox: Sandbox) -> Counter[str]:
    """How many times each identity was PUT, by name."""
    puts: Counter[str] = Counter()
    for record in arm_requests(sandbox):
        path = record.path.lower()
        if record.method == "PUT" and IDENTITIES_PATH in path and FICS_SEGMENT not in path:
            puts[path.rsplit("/", 1)[-1]] += 1
    return puts


def identities(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {identity["name"]: identity for identity in sandbox.control.dump()["identities"]}


def shards_holding(sandbox: Sandbox, environment_id: str) -> list[str]:
    """The identities holding at least one of the environment's FICs."""
    prefix = f"ppmi-{environment_id.lower()}-"
    return sorted(
        name
        for name, identity in identities(sandbox).items()
        if any(fic["name"].lower().startswith(prefix) for fic in identity["federatedIdentityCredentials"])
    )


def row_points_at(sandbox: Sandbox, environment_id: str, shard: str) -> bool:
    (row,) = sandbox.control.rows(environment_id, "managedidentities")
    return bool(row["applicationid"] == identities(sandbox)[shard]["properties"]["clientId"])


async def run_batch(held: Runtime, events: Sequence[Event]) -> None:
    """As a batch is handled: one environment's events in order, different environments side by side."""
    by_environment: dict[str, list[Event]] = {}
    for incoming in events:
        by_environment.setdefault(incoming.data.environment_id, []).append(incoming)

    async def in_order(group: list[Event]) -> None:
        for incoming in group:
            await succeed(held, incoming)

    await asyncio.gather(*(in_order(group) for group in by_environment.values()))


def package_event(environment_id: str, package_id: str, der: bytes) -> Event:
    return event(
        "pluginpackage.registered",
        environment_id,
        pluginPackageId=package_id,
        certificate=certificate_reference(der),
    )


async def test_one_environments_batch_reads_its_identity_once_and_package_events_call_arm_not_at_all(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    packages = [
        sandbox.control.register_plugin_package(environment.id, signers[n % 2], name=f"Contoso.Package{n}")
        for n in range(3)
    ]
    held = runtime.held()
    before = len(sandbox.requests)
    await succeed(held, event("environment.created", environment.id))
    after_environment = len(sandbox.requests)
    for n, package in enumerate(packages):
        await succeed(held, package_event(environment.id, package, signers[n % 2]))

    name = f"ppmi-{environment.id}"
    assert identity_reads(sandbox, name, before) <= 1
    assert fic_lists(sandbox, name, before) <= 1
    assert arm_requests(sandbox, after_environment) == []
    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    bound = sandbox.control.rows(environment.id, "pluginpackages")
    assert sorted(package["pluginpackageid"] for package in bound) == sorted(packages)
    assert all(package["_managedidentityid_value"] == row["managedidentityid"] for package in bound)


async def test_a_pools_batch_of_30_new_environments_fills_its_shards_evenly_and_within_capacity(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    # Two signers, shards of 10 keeping 2 free: 4 environments per shard. In scope: the 30 and the tenant's
    # default environment, so 8 shards.
    policy = write_policy(identity="strategy: shared-pool\npoolName: pool\nshardCapacity: 10\nheadroom: 2")
    limit, per_shard = 8, 4
    environments = [sandbox.control.create_environment(display_name=f"Team {n}") for n in range(30)]
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await run_batch(runtime.held(), [event("environment.created", e.id) for e in environments])

    shards = identities(sandbox)
    assert sorted(shards) == sorted(f"pool-{n}" for n in range(1, ceil(31 / per_shard) + 1))
    assert all(len(shard["federatedIdentityCredentials"]) <= limit for shard in shards.values())
    assert all(record.status != 409 for record in sandbox.requests)
    assert identity_puts(sandbox) == Counter({name: 1 for name in shards})
    placed: Counter[str] = Counter()
    for environment in environments:
        (shard,) = shards_holding(sandbox, environment.id)
        placed[shard] += 1
        assert row_points_at(sandbox, environment.id, shard)
    assert max(placed.values()) - min(placed.values()) <= 1
    assert sum(len(shard["federatedIdentityCredentials"]) for shard in shards.values()) == 30 * 2


async def test_an_environment_placed_by_an_earlier_batch_stays_on_its_shard_in_a_later_one(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    # Two signers, shards of 6 keeping 2 free: 2 environments per shard.
    policy = write_policy(identity="strategy: shared-pool\npoolName: pool\nshardCapacity: 6\nheadroom: 2")
    first, second = (sandbox.control.create_environment(display_name=name) for name in ("First", "Second"))
    package = sandbox.control.register_plugin_package(second.id, signers[0])
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await run_batch(runtime.held(), [event("environment.created", e.id) for e in (first, second)])
        (first_shard,) = shards_holding(sandbox, first.id)
        (second_shard,) = shards_holding(sandbox, second.id)
        assert sorted(identities(sandbox)) == ["pool-1", "pool-2"]
        # Four more environments in scope: the pool wants more shards, so a new environment gets a new one.
        newcomer, *_ = (sandbox.control.create_environment(display_name=f"Later {n}") for n in range(4))
        await run_batch(
            runtime.held(),
            [
                event("environment.reconcile", first.id),
                package_event(second.id, package, signers[0]),
                event("environment.created", newcomer.id),
            ],
        )

    assert shards_holding(sandbox, first.id) == [first_shard]
    assert shards_holding(sandbox, second.id) == [second_shard]
    assert shards_holding(sandbox, newcomer.id) == ["pool-3"]
    assert sorted(identities(sandbox)) == ["pool-1", "pool-2", "pool-3"]
    assert row_points_at(sandbox, first.id, first_shard)
    assert row_points_at(sandbox, second.id, second_shard)
    (row,) = sandbox.control.rows(second.id, "managedidentities")
    (bound,) = sandbox.control.rows(second.id, "pluginpackages")
    assert bound["_managedidentityid_value"] == row["managedidentityid"]


async def test_a_view_lists_its_own_fic_writes_without_asking_again_and_a_new_view_reads_arm_afresh(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    settings = runtime.policy.identity
    address = IdentityAddress(str(settings.subscription_id), str(settings.resource_group), "shared-one")
    await runtime.arm.create_or_update_identity(address, location="westeurope", tags={"team": "platform"})
    mine = FederatedCredential("https://issuer.example", "subject-mine", "api://AzureADTokenExchange")
    theirs = FederatedCredential("https://issuer.example", "subject-theirs", "api://AzureADTokenExchange")

    view = runtime.held().arm
    assert await view.list_federated_credentials(address) == []
    await view.create_or_update_federated_credential(address, "mine", mine)
    await runtime.arm.create_or_update_federated_credential(address, "theirs", theirs)  # outside the view
    before = len(sandbox.requests)
    held = [stored.name for stored in await view.list_federated_credentials(address)]

    assert held == ["mine"]
    assert arm_requests(sandbox, before) == []
    fresh = runtime.held().arm
    assert sorted(stored.name for stored in await fresh.list_federated_credentials(address)) == [
        "mine",
        "theirs",
    ]
    assert fic_lists(sandbox, "shared-one", before) == 1


async def test_an_environment_half_way_through_its_fic_writes_still_holds_the_rest_of_its_slots(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(identity="strategy: shared-pool\npoolName: pool\nshardCapacity: 10\nheadroom: 2")
    in_scope = [sandbox.control.create_environment(display_name=f"Team {n}").id for n in range(3)]
    later = [f"11111111-1111-4111-8111-11111111111{n}" for n in range(2)]
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        held = runtime.held()
        # Two FICs per environment, 8 slots per shard: four environments fill pool-1 (with the default one).
        placed = [await place(held, environment_id, needed=2) for environment_id in [*in_scope, later[0]]]
        address = placed[0].target.address
        assert address is not None
        assert {placement.target.address for placement in placed} == {address}
        tags = pool_tags(policy, "pool")
        await held.arm.create_or_update_identity(address, location="westeurope", tags=tags)
        for number, environment_id in enumerate(in_scope[:2]):  # each writes one of its two FICs
            credential = FederatedCredential("https://issuer.example", f"subject-{number}", AUDIENCE)
            await held.arm.create_or_update_federated_credential(
                address, f"ppmi-{environment_id}-{number:016x}", credential
            )

        fifth = await place(held, later[1], needed=2)

    assert fifth.target.address != address  # 2 written + 6 still reserved: pool-1 has no room left
