"""The asyncio SDK client against the broker: the same contract as the synchronous one."""

from __future__ import annotations

from azure.servicebus import (
    NEXT_AVAILABLE_SESSION,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusSubQueue,
)
from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import ServiceBusBroker
from tests.sandbox.servicebus.conftest import async_queue_sender


async def test_async_client_sends_receives_abandons_and_completes(
    async_client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    async with async_queue_sender(async_client, "plain") as sender:
        await sender.send_messages([ServiceBusMessage("one", message_id="m-1"), ServiceBusMessage("two")])
    async with async_client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        assert [str(m) for m in await receiver.peek_messages(max_message_count=5)] == ["one", "two"]
        first = (await receiver.receive_messages(max_wait_time=5))[0]
        await receiver.abandon_message(first)
        received: list[ServiceBusReceivedMessage] = []
        while len(received) < 2:
            received += await receiver.receive_messages(max_message_count=2, max_wait_time=5)
        assert [(str(m), m.delivery_count) for m in received] == [("one", 1), ("two", 0)]
        await receiver.complete_message(received[0])
        await receiver.dead_letter_message(received[1], reason="Rejected", error_description="not wanted")
    async with async_client.get_queue_receiver("plain", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        (dead,) = await dlq.receive_messages(max_wait_time=5)
        assert (str(dead), dead.dead_letter_reason) == ("two", "Rejected")
        await dlq.complete_message(dead)
    assert broker.queue("plain").messages() == []
    assert broker.queue("plain").dead_letters() == []


async def test_async_session_receiver_takes_the_next_available_session_and_keeps_state(
    async_client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    async with async_queue_sender(async_client, "work") as sender:
        await sender.send_messages(ServiceBusMessage("step 1", session_id="identity-7"))
    async with async_client.get_queue_receiver(
        "work", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=5
    ) as receiver:
        assert receiver.session.session_id == "identity-7"
        (message,) = await receiver.receive_messages(max_wait_time=5)
        await receiver.session.set_state(b"done")
        await receiver.complete_message(message)
    assert broker.queue("work").session_state("identity-7") == b"done"
    assert broker.queue("work").active_count == 0
