"""The managed identity provider's limits: every call is paced by what its URL addresses, 429s stay local."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from shared.engine._runtime import pacing_rates
from shared.errors import TransientServiceError
from shared.http import Call, HttpClient, Pacing, VirtualClock, build_transport, provider_pace
from shared.policy import Pacing as PolicyPacing
from tests.http.conftest import Reply, ScriptedServer

IDENTITIES = (
    "/subscriptions/SUB-1/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
)


@asynccontextmanager
async def _client(clock: VirtualClock, *, budget: float = 60.0) -> AsyncIterator[HttpClient]:
    http = HttpClient(
        transport=build_transport(None, None),
        tokens=None,
        pacing=Pacing(clock),
        clock=clock,
        retry_budget_seconds=budget,
    )
    try:
        yield http
    finally:
        await http.aclose()


def _call(server: ScriptedServer, method: str, path: str) -> Call:
    return Call(service="arm", method=method, url=f"{server.base_url}{path}", template=path)


def _gaps(arrivals: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


@pytest.mark.parametrize(
    ("method", "path", "kinds"),
    [
        ("GET", IDENTITIES, ["lists-per-subscription"]),
        ("GET", f"{IDENTITIES}/uami-1", ["reads-per-identity", "reads-per-subscription"]),
        ("PUT", f"{IDENTITIES}/uami-1", ["writes-per-identity", "writes-per-subscription"]),
        ("DELETE", f"{IDENTITIES}/uami-1", ["deletes-per-identity", "deletes-per-subscription"]),
        (
            "GET",
            f"{IDENTITIES}/uami-1/federatedIdentityCredentials",
            ["lists-per-identity", "lists-per-subscription"],
        ),
        (
            "PUT",
            f"{IDENTITIES}/uami-1/federatedIdentityCredentials/fic",
            ["writes-per-identity", "writes-per-subscription"],
        ),
        ("PUT", "/subscriptions/SUB-1/providers/Microsoft.Authorization/roleAssignments/x", []),
    ],
)
def test_each_provider_call_draws_from_the_buckets_the_provider_counts_it_in(
    method: str, path: str, kinds: list[str]
) -> None:
    pace = provider_pace(method, path)
    assert [key.kind.removeprefix("managed-identity-") for key in pace] == kinds
    assert all(key.key == "sub-1" for key in pace if key.kind.endswith("-per-subscription"))
    assert all(key.key == f"{IDENTITIES}/uami-1".lower() for key in pace if key.per_identity)


async def test_reads_of_one_identity_are_spaced_by_its_read_limit_but_other_identities_are_not_held_back(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    async with _client(clock) as http:
        await http.send(_call(server, "GET", f"{IDENTITIES}/uami-1"))
        await http.send(_call(server, "GET", f"{IDENTITIES}/uami-2"))
        await http.send(_call(server, "GET", f"{IDENTITIES}/uami-1"))
    first, other, again = server.arrivals
    assert other == first
    assert again - first >= 2  # 0.5 reads per second per identity


async def test_a_resource_groups_identities_are_listed_without_waiting_for_any_identitys_bucket(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    async with _client(clock) as http:
        for _ in range(4):
            await http.send(_call(server, "GET", IDENTITIES))
    assert _gaps(server.arrivals) == [0, 0, 0]


async def test_a_new_identitys_first_credential_waits_for_the_identitys_write_bucket(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    async with _client(clock) as http:
        await http.send(_call(server, "PUT", f"{IDENTITIES}/uami-1"))
        await http.send(_call(server, "PUT", f"{IDENTITIES}/uami-1/federatedIdentityCredentials/fic"))
    assert _gaps(server.arrivals)[0] >= 4  # 0.25 writes per second per identity


def _provider_refuses(arrivals: list[float], *, rate: float, capacity: float) -> int:
    """How many of `arrivals` the provider's bucket (`capacity` tokens refilling at `rate`) would refuse."""
    tokens, stamp, refused = capacity, arrivals[0], 0
    for arrival in arrivals:
        tokens = min(capacity, tokens + (arrival - stamp) * rate)
        stamp = arrival
        if tokens >= 1:
            tokens -= 1
        else:
            refused += 1
    return refused


async def test_writes_to_many_identities_never_burst_beyond_what_the_subscription_bucket_holds(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    async with _client(clock) as http:
        for number in range(12):
            await http.send(_call(server, "PUT", f"{IDENTITIES}/uami-{number}"))
    # 2 writes per second per subscription in a bucket of 2: half a token stays spare for jitter
    assert _provider_refuses(server.arrivals, rate=2.0, capacity=1.5) == 0
    assert server.arrivals[-1] - server.arrivals[0] == pytest.approx(11 / 2.0 - 0.25)


async def test_an_identitys_next_write_is_spaced_from_when_the_last_one_left_not_from_when_it_queued(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    async with _client(clock) as http:
        # Drain the subscription's bucket: the identity's next write waits for it after taking its own token.
        for number in range(3):
            await http.send(_call(server, "PUT", f"{IDENTITIES}/other-{number}"))
        await http.send(_call(server, "PUT", f"{IDENTITIES}/uami-1"))
        await http.send(_call(server, "PUT", f"{IDENTITIES}/uami-1/federatedIdentityCredentials/fic"))
    *_, identity, credential = server.arrivals
    assert credential - identity >= 1 / (0.25 * 0.9) - 1e-9  # the identity's limit, a tenth under


async def test_one_identitys_429_holds_back_that_identity_and_not_the_others(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    server.script = [Reply(429, {"error": {"code": "TooManyRequests"}}, {"Retry-After": "30"}), Reply(200)]
    async with _client(clock, budget=1) as http:
        with pytest.raises(TransientServiceError):
            await http.send(_call(server, "GET", f"{IDENTITIES}/uami-1"))
        await http.send(_call(server, "GET", f"{IDENTITIES}/uami-2"))
        await http.send(_call(server, "GET", f"{IDENTITIES}/uami-1"))
    throttled, other, again = server.arrivals
    assert other - throttled < 30
    assert again - throttled >= 30


async def test_arms_subscription_wide_429_holds_back_every_call_to_the_subscription(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    refusal = {"error": {"code": "SubscriptionRequestsThrottled"}}
    server.script = [Reply(429, refusal, {"Retry-After": "30"}), Reply(200)]
    async with _client(clock, budget=1) as http:
        with pytest.raises(TransientServiceError):
            await http.send(_call(server, "GET", f"{IDENTITIES}/uami-1"))
        await http.send(_call(server, "GET", f"{IDENTITIES}/uami-2"))
    assert server.arrivals[1] - server.arrivals[0] >= 30


def test_the_policys_write_limits_scale_the_providers_other_limits_alike() -> None:
    tenfold = PolicyPacing(
        managed_identity_writes_per_subscription_per_second=20.0,
        managed_identity_writes_per_identity_per_second=2.5,
    )
    rates = pacing_rates(tenfold)
    assert rates["managed-identity-lists-per-subscription"].per_second == pytest.approx(50.0)
    assert rates["managed-identity-reads-per-identity"].per_second == pytest.approx(5.0 * 0.9)
    assert rates["managed-identity-writes-per-subscription"].burst == 1.5  # the provider's bucket holds 2
