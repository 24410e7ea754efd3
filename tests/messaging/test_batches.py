"""ppmi-work in batches: a session's waiting events handled together, each message settled on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import ServiceBusBroker
from shared.engine import Runtime, identity_key
from shared.events import Event, new_event, parse_result
from shared.messaging import processing
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import Disposition, Outcome
from shared.messaging.envelope import RESULTS_QUEUE, WORK_QUEUE, IncomingMessage, OutgoingMessage
from shared.messaging.hosting import open_messaging_host
from shared.messaging.outbox import Outbox
from shared.messaging.processing import work_session
from shared.messaging.sessions import NotHandledError, OrderedKeys
from shared.messaging.worker import SessionHandling
from shared.policy import load_policy
from tests.messaging.conftest import Platform
from tests.messaging.test_end_to_end import package_event
from tests.messaging.test_worker import OPTIONS, RecordingHandlers, running, until, work

Provision = Callable[[IncomingMessage, Runtime, MessagingSettings, datetime], Awaitable[Disposition]]


@pytest.fixture
def pool_platform(platform: Platform) -> Platform:
    """The platform with a shared-pool policy: every environment's events share one session."""
    text = platform.policy.read_text(encoding="utf-8")
    pooled = text.replace("strategy: per-environment", "strategy: shared-pool\n  poolName: pool")
    assert pooled != text
    platform.policy.write_text(pooled, encoding="utf-8")
    return platform


def environment_event(kind: str, environment_id: str, reply_session: str) -> Event:
    return new_event(
        f"ppmi.environment.{kind}",
        {"environmentId": environment_id},
        source="/tests",
        reply_session=reply_session,
    )


def as_work(event: Event, platform: Platform) -> IncomingMessage:
    """The event as the route step forwards it: on its identity's session of ppmi-work."""
    policy = load_policy(platform.policy)
    environment_id = event.data.environment_id
    session = work_session(environment_id, identity_key(environment_id, policy), policy)
    return IncomingMessage(
        queue=WORK_QUEUE,
        body=event.to_json(),
        message_id=event.id,
        session_id=session,
        correlation_id=event.id,
    )


def answered(platform: Platform, session: str) -> list[tuple[str | None, str]]:
    """(event ID, outcome) of every answer on a reply session, in the order they were sent."""
    return [
        (message.correlation_id, parse_result(message.body).data.outcome)
        for message in platform.broker.queue(RESULTS_QUEUE).messages()
        if message.session_id == session
    ]


def fic_names(platform: Platform) -> list[str]:
    identities: list[dict[str, Any]] = platform.sandbox.control.dump()["identities"]
    return [fic["name"] for identity in identities for fic in identity["federatedIdentityCredentials"]]


def failing_for(message_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Handling the message `message_id` raises an unexpected error; every other one is handled as ever."""
    real: Provision = processing.provision

    async def provision(
        message: IncomingMessage, runtime: Runtime, settings: MessagingSettings, now: datetime
    ) -> Disposition:
        if message.message_id == message_id:
            raise RuntimeError(f"handler bug on {message_id}")
        return await real(message, runtime, settings, now)

    monkeypatch.setattr(processing, "provision", provision)


@dataclass(frozen=True)
class LeavingAndStaying:
    """Two pool environments: one created, given a package and deleted again; one created with a package."""

    leaving: str
    staying: str
    events: list[Event]
    leaving_events: tuple[int, ...] = (0, 2, 4)
    staying_events: tuple[int, ...] = (1, 3)


def leaving_and_staying(platform: Platform) -> LeavingAndStaying:
    leaving = platform.sandbox.control.create_environment(display_name="Leaving").id
    staying = platform.sandbox.control.create_environment(display_name="Staying").id
    events = [
        environment_event("created", leaving, "answers-leaving"),
        environment_event("created", staying, "answers-staying"),
        package_event(platform, leaving, "answers-leaving", platform.certificate),
        package_event(platform, staying, "answers-staying", platform.second_certificate),
        environment_event("deleted", leaving, "answers-leaving"),
    ]
    return LeavingAndStaying(leaving, staying, events)


def assert_left_in_order_and_stayed(platform: Platform, case: LeavingAndStaying) -> None:
    """Each environment's answers came in its events' order: a deletion that ran first would leave FICs."""
    events = case.events
    assert answered(platform, "answers-leaving") == [(events[i].id, "succeeded") for i in case.leaving_events]
    assert answered(platform, "answers-staying") == [(events[i].id, "succeeded") for i in case.staying_events]
    names = fic_names(platform)
    assert not [name for name in names if case.leaving.lower() in name.lower()]
    assert platform.sandbox.control.rows(case.leaving, "managedidentities") == []
    assert (
        len([name for name in names if case.staying.lower() in name.lower()]) == 2
    )  # one per trusted signer
    (row,) = platform.sandbox.control.rows(case.staying, "managedidentities")
    (package,) = platform.sandbox.control.rows(case.staying, "pluginpackages")
    assert package["_managedidentityid_value"] == row["managedidentityid"]


async def test_a_pool_batch_decides_each_environments_events_in_order_and_answers_each_message_in_its_slot(
    pool_platform: Platform,
) -> None:
    case = leaving_and_staying(pool_platform)
    messages = [as_work(event, pool_platform) for event in case.events]
    assert len({message.session_id for message in messages}) == 1  # one pool: one session, one batch

    async with open_messaging_host() as host:
        results = await host.handle_provision_batch(messages)

    dispositions = [result for result in results if isinstance(result, Disposition)]
    assert dispositions == results
    assert [(d.outcome, d.reason) for d in dispositions if d.outcome is not Outcome.SUCCEEDED] == []
    assert [d.messages[-1].correlation_id for d in dispositions] == [event.id for event in case.events]
    assert_left_in_order_and_stayed(pool_platform, case)


async def test_an_unexpected_error_comes_back_in_its_slot_holds_back_its_environments_later_events_only(
    pool_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = pool_platform
    first = platform.sandbox.control.create_environment(display_name="First")
    second = platform.sandbox.control.create_environment(display_name="Second")
    events = [
        environment_event("created", first.id, "answers"),
        package_event(platform, first.id, "answers", platform.certificate),
        environment_event("created", second.id, "answers"),
        environment_event("reconcile", first.id, "answers"),
    ]
    broken = events[1]
    failing_for(broken.id, monkeypatch)

    async with open_messaging_host() as host:
        results = await host.handle_provision_batch([as_work(event, platform) for event in events])

    assert isinstance(results[1], RuntimeError)
    assert str(results[1]) == f"handler bug on {broken.id}"
    # The first environment's later event is left for after the broken one: it comes back in order.
    assert isinstance(results[3], NotHandledError)
    fine = [results[i] for i in (0, 2)]
    assert [d.outcome if isinstance(d, Disposition) else d for d in fine] == [Outcome.SUCCEEDED] * 2
    assert sorted(answered(platform, "answers")) == sorted((events[i].id, "succeeded") for i in (0, 2))
    for environment in (first, second):
        assert len(platform.sandbox.control.rows(environment.id, "managedidentities")) == 1


async def test_a_pool_batch_of_new_environments_spreads_them_over_the_shards_they_fill_without_a_409(
    pool_platform: Platform,
) -> None:
    platform = pool_platform
    environments = [platform.sandbox.control.create_environment(display_name=f"Team {n}") for n in range(12)]
    events = [environment_event("created", environment.id, "answers") for environment in environments]

    async with open_messaging_host() as host:
        results = await host.handle_provision_batch([as_work(event, platform) for event in events])

    assert [r.outcome if isinstance(r, Disposition) else r for r in results] == [Outcome.SUCCEEDED] * 12
    shards = {identity["name"]: identity for identity in platform.sandbox.control.dump()["identities"]}
    # two signers: 2 FICs an environment, 9 environments a shard (capacity 20 less headroom 2); 12 fill two
    assert sorted(shards) == ["pool-1", "pool-2"]
    assert [len(shard["federatedIdentityCredentials"]) for shard in shards.values()] == [12, 12]
    for environment in environments:
        holders = [
            shard["properties"]["clientId"]
            for shard in shards.values()
            if any(
                environment.id.lower() in fic["name"].lower() for fic in shard["federatedIdentityCredentials"]
            )
        ]
        (row,) = platform.sandbox.control.rows(environment.id, "managedidentities")
        assert holders == [row["applicationid"]]
    assert all(record.status != 409 for record in platform.sandbox.requests)


async def test_a_sessions_messages_are_handled_as_they_come_in_order_per_key_and_side_by_side_across_keys(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    release_x = asyncio.Event()

    async def x_waits(message: IncomingMessage) -> None:
        if message.message_id == "x-0":
            await release_x.wait()

    handlers = RecordingHandlers(servicebus, x_waits)
    outbox = Outbox(servicebus)
    ids = ["x-0", "y-0", "x-1", "y-1"]
    await outbox.send(
        [OutgoingMessage(queue=WORK_QUEUE, body=b"{}", message_id=i, session_id="pool") for i in ids]
    )
    async with running(handlers) as stats:
        # y's messages finish while x-0 is still in hand; x-1 waits for x-0.
        await until(lambda: [m.message_id for m in handlers.handled] == ["x-0", "y-0", "y-1"])
        release_x.set()
        await until(lambda: len(handlers.handled) == 4)
        await until(lambda: broker.queue(WORK_QUEUE).messages() == [])
    await outbox.close()

    assert [m.message_id for m in handlers.handled] == ["x-0", "y-0", "y-1", "x-1"]
    assert stats.outcomes == {f"{WORK_QUEUE}:succeeded": 4}


async def test_a_failing_message_is_abandoned_with_its_keys_later_messages_and_they_come_back_in_order(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    async def fails_once(message: IncomingMessage) -> None:
        if message.message_id == "identity-a-1" and message.delivery_count == 1:
            raise RuntimeError("handler bug")

    handlers = RecordingHandlers(servicebus, fails_once)
    outbox = Outbox(servicebus)
    await outbox.send([work("identity-a", n) for n in range(3)])
    async with running(handlers) as stats:
        await until(lambda: len(handlers.handled) == 4)
        await until(lambda: broker.queue(WORK_QUEUE).messages() == [])
    await outbox.close()

    handled = [(m.message_id, m.delivery_count) for m in handlers.handled]
    # identity-a-2 is not handled after identity-a-1 failed: both come back, in order
    assert handled == [("identity-a-0", 1), ("identity-a-1", 1), ("identity-a-1", 2), ("identity-a-2", 2)]
    assert stats.outcomes == {
        f"{WORK_QUEUE}:succeeded": 3,
        f"{WORK_QUEUE}:abandoned": 2,
        f"{WORK_QUEUE}:redelivered": 2,
    }
    assert broker.queue(WORK_QUEUE).dead_letters() == []


async def test_with_whole_batches_the_worker_settles_as_the_functions_host_one_batch_at_a_time(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    async def quick(message: IncomingMessage) -> None:
        return None

    handlers = RecordingHandlers(servicebus, quick)
    outbox = Outbox(servicebus)
    await outbox.send([work("identity-a", n) for n in range(5)])
    async with running(handlers, replace(OPTIONS, handling=SessionHandling.BATCHES)) as stats:
        await until(lambda: len(handlers.handled) == 5)
        await until(lambda: broker.queue(WORK_QUEUE).messages() == [])
    await outbox.close()

    assert handlers.batches == [[f"identity-a-{n}" for n in range(5)]]  # one call, the whole batch
    assert stats.outcomes == {f"{WORK_QUEUE}:succeeded": 5}


async def test_a_session_kept_busy_past_half_its_lock_renewal_is_released_and_taken_again_losing_nothing(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    async def slow(message: IncomingMessage) -> None:
        await asyncio.sleep(0.1)

    handlers = RecordingHandlers(servicebus, slow)
    outbox = Outbox(servicebus)
    await outbox.send([work("identity-a", n) for n in range(6)])
    holds: list[OrderedKeys] = []
    hold = handlers.hold_session

    def counted() -> OrderedKeys:
        holds.append(hold())
        return holds[-1]

    handlers.hold_session = counted  # type: ignore[method-assign]
    # Half of 0.3 s of renewal: the session is let go between messages and taken again.
    options = replace(OPTIONS, max_lock_renewal_seconds=0.3, batch_size=2)
    async with running(handlers, options) as stats:
        await until(lambda: len(handlers.handled) == 6)
        await until(lambda: broker.queue(WORK_QUEUE).messages() == [])
    await outbox.close()

    assert [m.message_id for m in handlers.handled] == [f"identity-a-{n}" for n in range(6)]
    assert stats.outcomes[f"{WORK_QUEUE}:succeeded"] == 6
    # A message the let-go receiver had prefetched comes back (counted as redelivered); none was abandoned.
    assert set(stats.outcomes) <= {f"{WORK_QUEUE}:succeeded", f"{WORK_QUEUE}:redelivered"}
    assert len(holds) > 1  # held more than once, each hold with its own view
