"""`ppmi requeue` re-drives what was kept when it started, each message once, and stops."""

from __future__ import annotations

import asyncio

import pytest
from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import ServiceBusBroker
from shared.cli import main
from shared.events import new_event
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import Outcome, answer
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, IncomingMessage
from shared.messaging.outbox import Outbox, from_sdk_message
from shared.messaging.requeue import requeue
from tests.cli.schemas import documented
from tests.messaging.conftest import Platform, worker

UNKNOWN_ENVIRONMENT = "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"  # no such environment: rejected every time


async def keep(outbox: Outbox, message: IncomingMessage | None = None) -> None:
    """What the service does with an event it rejects: a kept copy in ppmi-kept."""
    event = new_event("ppmi.environment.created", {"environmentId": UNKNOWN_ENVIRONMENT}, source="/tests")
    disposition = answer(
        message or IncomingMessage(EVENTS_QUEUE, event.to_json(), event.id),
        event=event,
        outcome=Outcome.REJECTED,
        reason="environment does not exist",
        steps=(),
        settings=MessagingSettings(),
    )
    await outbox.send(m for m in disposition.messages if m.queue == KEPT_QUEUE)


async def keep_one(client: ServiceBusClient) -> None:
    outbox = Outbox(client)
    await keep(outbox)
    await outbox.close()


async def reject_again(client: ServiceBusClient, outbox: Outbox) -> None:
    """A service whose cause is not fixed: each re-driven event comes straight back to ppmi-kept."""
    async with client.get_queue_receiver(EVENTS_QUEUE, keep_alive=0, prefetch_count=10) as receiver:
        while True:
            for message in await receiver.receive_messages(max_wait_time=3):
                await keep(outbox, from_sdk_message(message, EVENTS_QUEUE))
                await receiver.complete_message(message)


async def test_a_message_kept_again_during_the_run_waits_for_the_next_run(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    outbox = Outbox(servicebus)
    await keep(outbox)  # its sender open before the run starts: kept again within milliseconds
    service = asyncio.create_task(reject_again(servicebus, outbox))
    await asyncio.sleep(0.5)  # the service is receiving

    redriven = await asyncio.wait_for(requeue(servicebus, KEPT_QUEUE, message_ids=None), 60)
    for _ in range(100):  # the service keeps it again: wait for that, however this run ended
        if broker.queue(KEPT_QUEUE).messages():
            break
        await asyncio.sleep(0.1)
    service.cancel()
    await outbox.close()

    assert len(redriven) == 1
    (again,) = broker.queue(KEPT_QUEUE).messages()  # kept again, and left for the next run
    assert again.message_id != redriven[0].message_id


async def test_ppmi_requeue_against_a_running_worker_redrives_once_and_stops(
    platform: Platform, servicebus: ServiceBusClient, capsys: pytest.CaptureFixture[str]
) -> None:
    await keep_one(servicebus)

    async with worker():
        code = await asyncio.wait_for(asyncio.to_thread(main, ["requeue", "--all", "--output", "json"]), 60)
        await asyncio.sleep(2)  # the worker rejects it again meanwhile

    answered = documented("requeue", capsys.readouterr().out)
    assert code == 0
    assert len(answered["messages"]) == 1
    assert len(platform.broker.queue(KEPT_QUEUE).messages()) == 1
