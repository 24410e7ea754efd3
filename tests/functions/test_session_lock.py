"""A `ppmi-work` session whose lock is shorter than its work, through the Functions host's semantics.

`ppmi worker --functions` reproduces the deployed trigger (one message per call, the session lock renewed);
the batch trigger the app used before (`--whole-batches`) never renews it. The broker counts what Service Bus
would: locks that ran out with a message held, and deliveries of a message delivered before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from sandbox.servicebus import ServiceBusBroker
from shared.events import Event
from shared.messaging import processing
from shared.messaging.disposition import Disposition
from shared.messaging.envelope import WORK_QUEUE, IncomingMessage
from shared.messaging.publishing import publish, wait_for_results
from shared.messaging.worker import SessionHandling, WorkerOptions
from tests.messaging.conftest import QUEUES, Platform, worker
from tests.messaging.test_end_to_end import environment_event, package_event
from tests.messaging.test_worker import until

LOCK_SECONDS = 5.0  # Service Bus's shortest lock duration (PT5S)
WORK_SECONDS = 6.0  # each message's handling outlasts the session lock
FUNCTIONS_HOST = WorkerOptions(
    sessions=2,
    event_receivers=1,
    handling=SessionHandling.FUNCTIONS,
    receive_wait_seconds=0.3,
    session_idle_seconds=0.5,
)


@pytest.fixture
def broker() -> Iterator[ServiceBusBroker]:
    """ppmi's queues, with a session lock on ppmi-work shorter than the work."""
    queues = {**QUEUES, WORK_QUEUE: replace(QUEUES[WORK_QUEUE], lock_duration=LOCK_SECONDS)}
    with ServiceBusBroker(queues=queues) as running:
        yield running


@pytest.fixture
def slow_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ppmi-work message takes longer than the session lock; the app knows the host's idle timeout."""
    monkeypatch.setenv("PPMI_SESSION_IDLE_SECONDS", str(FUNCTIONS_HOST.session_idle_seconds))
    real = processing.provision

    async def provision(message: IncomingMessage, *rest: Any) -> Disposition:
        await asyncio.sleep(WORK_SECONDS)
        return await real(message, *rest)

    monkeypatch.setattr(processing, "provision", provision)


def one_environments_events(platform: Platform, reply_session: str, *, packages: int) -> list[Event]:
    environment = platform.sandbox.control.create_environment(display_name="Slow")
    created = environment_event("ppmi.environment.created", environment.id, reply_session)
    return [created, *(package_event(platform, environment.id, reply_session) for _ in range(packages))]


@pytest.mark.usefixtures("slow_work")
async def test_a_session_held_longer_than_its_lock_loses_nothing_and_nothing_comes_back(
    platform: Platform,
) -> None:
    events = one_environments_events(platform, "slow-answers", packages=1)  # held for twice the lock

    async with worker(FUNCTIONS_HOST) as host:
        await publish(host.client, events)
        results = await wait_for_results(
            host.client, event_ids={e.id for e in events}, reply_session="slow-answers", within=60
        )

    assert {event_id: item.result.data.outcome for event_id, item in results.items()} == {
        event.id: "succeeded" for event in events
    }
    work = platform.broker.queue(WORK_QUEUE)
    assert (work.lock_expiries, work.redeliveries) == (0, 0)
    assert work.messages() == []
    assert work.dead_letters() == []


@pytest.mark.usefixtures("slow_work")
async def test_the_batch_triggers_session_lock_runs_out_under_the_same_work_and_its_messages_come_back(
    platform: Platform,
) -> None:
    events = one_environments_events(platform, "batch-answers", packages=0)
    work = platform.broker.queue(WORK_QUEUE)

    async with worker(replace(FUNCTIONS_HOST, handling=SessionHandling.BATCHES)) as host:
        await publish(host.client, events)
        await until(lambda: work.redeliveries > 0, within=60)

    assert work.lock_expiries >= 1
    assert work.redeliveries >= 1
