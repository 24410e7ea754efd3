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
    )


class Outbox:
    """Sends to any ppmi queue over one client; a sender per queue, opened on first use, kept till `close`."""

    def __init__(self, client: ServiceBusClient) -> None:
        self._client = client
        self._senders: dict[str, ServiceBusSender] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def send(self, messages: Iterable[OutgoingMessage]) -> None:
        """Send in order, one batch per run of messages to the same queue."""
        for queue, run in groupby(messages, key=lambda message: message.queue):
            lock = self._locks.setdefault(queue, asyncio.Lock())
            async with lock:
                sender = self._senders.get(queue)
                if sender is None:
                    sender = self._senders[queue] = self._client.get_queue_sender(
                        queue, keep_alive=NO_KEEP_ALIVE
                    )
                await sender.send_messages([to_sdk_message(message) for message in run])

    async def close(self) -> None:
        senders, self._senders = list(self._senders.values()), {}
        for sender in senders:
            await sender.close()
