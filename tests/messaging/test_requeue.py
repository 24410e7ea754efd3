"""Kept and dead-lettered messages go back where they came from, with a fresh attempt count."""

from __future__ import annotations

from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import ServiceBusBroker
from shared.events import new_event
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import Outcome, answer
from shared.messaging.envelope import (
    ATTEMPT,
    KEPT_QUEUE,
    REDRIVE,
    WORK_QUEUE,
    IncomingMessage,
    OutgoingMessage,
)
from shared.messaging.outbox import Outbox
from shared.messaging.requeue import list_kept, requeue

ENVIRONMENT = "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"


async def keep_failed_work(servicebus: ServiceBusClient, event_id: str) -> None:
    event = new_event(
        "ppmi.environment.created", {"environmentId": ENVIRONMENT}, source="/tests", id=event_id
    )
    message = IncomingMessage(
        queue=WORK_QUEUE,
        body=event.to_json(),
        message_id=event.id,
        properties={ATTEMPT: 8},
        session_id="identity-a",
    )
    disposition = answer(
        message,
        event=event,
        outcome=Outcome.FAILED,
        reason="403 from ARM",
        steps=(),
        settings=MessagingSettings(),
    )
    outbox = Outbox(servicebus)
    await outbox.send(m for m in disposition.messages if m.queue == KEPT_QUEUE)
    await outbox.close()


async def test_a_kept_message_is_listed_with_its_reason_then_goes_back_to_its_session_at_attempt_one(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    await keep_failed_work(servicebus, "evt-b")
    await keep_failed_work(servicebus, "evt-c")

    listed = await list_kept(servicebus, KEPT_QUEUE)
    (redriven,) = await requeue(servicebus, KEPT_QUEUE, message_ids=["evt-b"], wait_seconds=0.5)

    first = listed[0]
    assert (first.origin_id, first.kept_class, first.source_queue, first.attempt) == (
        "evt-b",
        "failed",
        WORK_QUEUE,
        8,
    )
    assert (first.reason, first.session_id) == ("403 from ARM", "identity-a")
    assert [k.origin_id for k in listed] == ["evt-b", "evt-c"]
    assert redriven.origin_id == "evt-b"
    (back,) = broker.queue(WORK_QUEUE).messages()
    assert back.session_id == "identity-a"
    assert back.application_properties[ATTEMPT] == 1
    assert back.application_properties[REDRIVE] == 1
    assert back.message_id != "evt-b"
    assert [m.message_id for m in broker.queue(KEPT_QUEUE).messages()] == ["evt-c~kept"]


async def test_dead_lettered_messages_are_redriven_from_the_dead_letter_sub_queue(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    outbox = Outbox(servicebus)
    await outbox.send(
        [OutgoingMessage(queue=WORK_QUEUE, body=b"{}", message_id="crash", session_id="identity-b")]
    )
    await outbox.close()
    async with servicebus.get_queue_receiver(
        WORK_QUEUE, session_id="identity-b", keep_alive=0, prefetch_count=1
    ) as receiver:
        (message,) = await receiver.receive_messages(max_wait_time=2)
        await receiver.dead_letter_message(message, reason="MaxDeliveryCountExceeded")

    (redriven,) = await requeue(servicebus, WORK_QUEUE, message_ids=None, wait_seconds=0.5)

    assert redriven.kept_class == "dead-lettered"
    assert broker.queue(WORK_QUEUE).dead_letter_count == 0
    (back,) = broker.queue(WORK_QUEUE).messages()
    assert back.session_id == "identity-b"
    assert back.application_properties[ATTEMPT] == 1
