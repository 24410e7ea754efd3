"""A broker with small, fast queues and SDK clients (sync and async) connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusReceiver, ServiceBusSender
from azure.servicebus.aio import ServiceBusClient as AsyncServiceBusClient
from azure.servicebus.aio import ServiceBusSender as AsyncServiceBusSender

from sandbox.servicebus import (
    AsyncSandboxTokenCredential,
    QueueOptions,
    SandboxTokenCredential,
    ServiceBusBroker,
)
from shared.clients.servicebus import async_servicebus_client, servicebus_client

SHORT_LOCK = 1.0
MAX_DELIVERIES = 3

TEST_QUEUES = {
    "plain": QueueOptions(max_delivery_count=MAX_DELIVERIES),
    "short-lock": QueueOptions(lock_duration=SHORT_LOCK, max_delivery_count=MAX_DELIVERIES),
    "events": QueueOptions(duplicate_detection_window=60.0),
    "expiring": QueueOptions(dead_lettering_on_expiration=True),
    "work": QueueOptions(requires_session=True),
    "short-session": QueueOptions(requires_session=True, lock_duration=SHORT_LOCK),
}


@pytest.fixture
def broker() -> Iterator[ServiceBusBroker]:
    with ServiceBusBroker(queues=TEST_QUEUES) as running:
        yield running


@pytest.fixture
def client(broker: ServiceBusBroker) -> Iterator[ServiceBusClient]:
    with servicebus_client(
        broker.fully_qualified_namespace, SandboxTokenCredential(), tls=False
    ) as connected:
        yield connected


@pytest.fixture
async def async_client(broker: ServiceBusBroker) -> AsyncIterator[AsyncServiceBusClient]:
    credential = AsyncSandboxTokenCredential()
    async with async_servicebus_client(broker.fully_qualified_namespace, credential, tls=False) as connected:
        yield connected


def queue_sender(client: ServiceBusClient, queue_name: str) -> ServiceBusSender:
    """A sender that closes at once (the SDK's keep-alive thread sleeps in 1 s steps; close joins it)."""
    return client.get_queue_sender(queue_name, keep_alive=0)


def async_queue_sender(client: AsyncServiceBusClient, queue_name: str) -> AsyncServiceBusSender:
    return client.get_queue_sender(queue_name, keep_alive=0)


def queue_receiver(client: ServiceBusClient, queue_name: str, **options: Any) -> ServiceBusReceiver:
    """A receiver that closes at once (only with prefetch on does `keep_alive=0` stop the SDK thread)."""
    return client.get_queue_receiver(queue_name, keep_alive=0, prefetch_count=1, **options)
