"""A publisher waiting for its result longer than the results queue's lock keeps waiting, and gets it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import AsyncSandboxTokenCredential, QueueOptions, ServiceBusBroker
from shared.events import new_event, result_for
from shared.messaging.envelope import RESULTS_QUEUE, OutgoingMessage
from shared.messaging.outbox import Outbox
from shared.messaging.publishing import unique_reply_session, wait_for_results

LOCK_SECONDS = 1.0


@pytest.fixture
def broker() -> Iterator[ServiceBusBroker]:
    queues = {RESULTS_QUEUE: QueueOptions(requires_session=True, lock_duration=LOCK_SECONDS)}
    with ServiceBusBroker(queues=queues) as running:
        yield running


async def test_a_result_arriving_after_the_session_lock_would_expire_is_still_received(
    broker: ServiceBusBroker,
) -> None:
    session = unique_reply_session()
    event = new_event(
        "ppmi.environment.created",
        {"environmentId": "3f0e6a52-8c1d-4b7e-9f2a-6d5c4b3a2e10"},
        source="/tests",
        reply_session=session,
    )
    result = result_for(event, "succeeded")
    client = ServiceBusClient(broker.fully_qualified_namespace, AsyncSandboxTokenCredential(), use_tls=False)

    async def answer_late() -> None:
        await asyncio.sleep(3 * LOCK_SECONDS)
        outbox = Outbox(client)
        message = OutgoingMessage(RESULTS_QUEUE, result.to_json(), "late-result", session_id=session)
        try:
            await outbox.send([message])
        finally:
            await outbox.close()

    async with client:
        answering = asyncio.create_task(answer_late())
        received = await wait_for_results(client, event_ids={event.id}, reply_session=session, within=6)
        await answering

    assert received[event.id].result.data.outcome == "succeeded"
