"""Send `OutgoingMessage`s with the Service Bus SDK, and read SDK messages into `IncomingMessage`s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from itertools import groupby

from azure.servicebus import ServiceBusMessage, ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusClient, ServiceBusSender

from shared.messaging.envelope import NO_KEEP_ALIVE, IncomingMessage, OutgoingMessage, normalise_properties


def to_sdk_message(message: OutgoingMessage) -> ServiceBusMessage:
    sdk_message = ServiceBusMessage(
        message.body,
        application_properties=dict(message.properties),  # type: ignore[arg-type]
        session_id=message.session_id,
        message_id=message.message_id,
        content_type=message.content_type,
        correlation_id=message.correlation_id,
        subject=message.subject,
        reply_to_session_id=message.reply_to_session_id,
    )
    if message.scheduled_enqueue_time is not None:
        sdk_message.scheduled_enqueue_time_utc = message.scheduled_enqueue_time
    return sdk_message


def from_sdk_message(message: ServiceBusReceivedMessage, queue: str) -> IncomingMessage:
    """The SDK counts earlier deliveries (0 on the first); the Functions binding counts all (1 first)."""
    return IncomingMessage(
        queue=queue,
        body=b"".join(message.body),
        message_id=str(message.message_id),
        properties=normalise_properties(message.application_properties),
        session_id=message.session_id,
        reply_to_session_id=message.reply_to_session_id,
        correlation_id=message.correlation_id,
        delivery_count=(message.delivery_count or 0) + 1,
        enqueued_time=message.enqueued_time_utc,
        sequence_number=message.sequence_number,
    )


SENDERS_PER_QUEUE = 8  # sends to one queue in flight at once: a burst of routed events is not sent one by one


class Outbox:
    """Sends to any ppmi queue over one client; up to `SENDERS_PER_QUEUE` senders per queue, opened on
    first use and kept till `close`. Each send takes a free sender, so concurrent handlers do not queue
    behind one another's round trip to Service Bus."""

    def __init__(self, client: ServiceBusClient, senders_per_queue: int = SENDERS_PER_QUEUE) -> None:
        self._client = client
        self._per_queue = senders_per_queue
        self._idle: dict[str, list[ServiceBusSender]] = {}
        self._opened: list[ServiceBusSender] = []
        self._slots: dict[str, asyncio.Semaphore] = {}

    async def send(self, messages: Iterable[OutgoingMessage]) -> None:
        """Send in order, one batch per run of messages to the same queue."""
        for queue, run in groupby(messages, key=lambda message: message.queue):
            batch = [to_sdk_message(message) for message in run]
            async with self._slots.setdefault(queue, asyncio.Semaphore(self._per_queue)):
                idle = self._idle.setdefault(queue, [])
                sender = idle.pop() if idle else self._open(queue)
                try:
                    await sender.send_messages(batch)
                finally:
                    idle.append(sender)

    def _open(self, queue: str) -> ServiceBusSender:
        sender = self._client.get_queue_sender(queue, keep_alive=NO_KEEP_ALIVE)
        self._opened.append(sender)
        return sender

    async def close(self) -> None:
        senders, self._opened, self._idle = self._opened, [], {}
        for sender in senders:
            await sender.close()
