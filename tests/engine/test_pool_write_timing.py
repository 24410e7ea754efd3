"""Shared-pool placement sends a new environment to the shard whose next FIC write can go soonest."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.clients.arm import IdentityAddress
from shared.engine import Runtime, open_runtime
from shared.engine._naming import pool_tags
from shared.engine._placement import place
from shared.fic import FederatedCredential
from shared.http import VirtualClock
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter

AUDIENCE = "api://AzureADTokenExchange"
# Two signers: two FICs an environment; shards of 20 keeping 2 free take 9 environments each. Only the
# tenant's default environment is in scope, so the pool wants no more shards than the two it has.
POOL = "strategy: shared-pool\npoolName: pool\nshardCapacity: 20\nheadroom: 2"
NEWCOMER = "22222222-2222-4222-8222-222222222222"


def credential(subject: str) -> FederatedCredential:
    return FederatedCredential("https://issuer.example", subject, AUDIENCE)


def shard(policy: Policy, number: int) -> IdentityAddress:
    settings = policy.identity
    return IdentityAddress(str(settings.subscription_id), str(settings.resource_group), f"pool-{number}")


async def make_pool(policy: Policy, fics: dict[int, int]) -> None:
    """Shards `pool-n` holding `fics[n]` FICs, made by another process (its buckets are not ours)."""
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as other:
        for number, count in fics.items():
            address = shard(policy, number)
            await other.arm.create_or_update_identity(
                address, location="westeurope", tags=pool_tags(policy, "pool")
            )
            for n in range(count):
                await other.arm.create_or_update_federated_credential(
                    address, f"earlier-{number}-{n}", credential(f"earlier-{number}-{n}")
                )


async def placed_on(runtime: Runtime, environment_id: str) -> str:
    placement = await place(runtime, environment_id, needed=2)
    assert placement.target.address is not None
    return placement.target.address.name


async def test_a_new_environment_goes_to_the_shard_free_to_write_not_the_emptier_one_just_written(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(identity=POOL)
    # Each shard's FICs fit one page of the sandbox's lists: no paced wait moves the clock on while placing.
    await make_pool(policy, {1: 2, 2: 0})
    clock = VirtualClock()  # time stands still: the write below keeps pool-2's bucket empty
    async with open_runtime(Settings.from_env(), policy, clock=clock, backoff=FAST_BACKOFF) as runtime:
        held = runtime.held()
        await held.arm.create_or_update_federated_credential(shard(policy, 2), "just-now", credential("now"))

        chosen = await placed_on(held, NEWCOMER)

    assert clock.slept == []
    assert chosen == "pool-1"  # 2 FICs and free to write, over 1 FIC and a write an interval away


async def test_with_both_shards_free_to_write_a_new_environment_goes_to_the_emptier_one(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(identity=POOL)
    await make_pool(policy, {1: 6, 2: 2})
    async with open_runtime(
        Settings.from_env(), policy, clock=VirtualClock(), backoff=FAST_BACKOFF
    ) as runtime:
        chosen = await placed_on(runtime.held(), NEWCOMER)

    assert chosen == "pool-2"


async def test_environments_reserved_on_a_shard_queue_its_writes_so_the_next_one_goes_elsewhere(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(identity=POOL)
    await make_pool(policy, {1: 6, 2: 2})
    async with open_runtime(
        Settings.from_env(), policy, clock=VirtualClock(), backoff=FAST_BACKOFF
    ) as runtime:
        held = runtime.held()
        first = await placed_on(held, NEWCOMER)
        second = await placed_on(held, "33333333-3333-4333-8333-333333333333")

    # pool-2 is emptier, so it takes the first; its two unwritten FICs queue there, so pool-1 takes the next
    assert (first, second) == ("pool-2", "pool-1")
