"""A sandbox Service Bus with ppmi's four queues, and an SDK client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import AsyncSandboxTokenCredential, QueueOptions, ServiceBusBroker
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, RESULTS_QUEUE, WORK_QUEUE

DEDUPLICATE = 600.0
LOCK_SECONDS = 5.0
MAX_DELIVERIES = 3

QUEUES = {
    EVENTS_QUEUE: QueueOptions(
        duplicate_detection_window=DEDUPLICATE, lock_duration=LOCK_SECONDS, max_delivery_count=MAX_DELIVERIES
    ),
    WORK_QUEUE: QueueOptions(
        requires_session=True,
        duplicate_detection_window=DEDUPLICATE,
        lock_duration=LOCK_SECONDS,
        max_delivery_count=MAX_DELIVERIES,
    ),
    RESULTS_QUEUE: QueueOptions(requires_session=True),
    KEPT_QUEUE: QueueOptions(duplicate_detection_window=DEDUPLICATE, max_delivery_count=100),
}


@pytest.fixture
def broker() -> Iterator[ServiceBusBroker]:
    with ServiceBusBroker(queues=QUEUES) as running:
        yield running


@pytest.fixture
async def servicebus(broker: ServiceBusBroker) -> AsyncIterator[ServiceBusClient]:
    client = ServiceBusClient(broker.fully_qualified_namespace, AsyncSandboxTokenCredential(), use_tls=False)
    async with client:
        yield client
