"""A sandbox Service Bus with ppmi's four queues, an SDK client on it, and the whole platform end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from azure.servicebus.aio import ServiceBusClient

from sandbox.server import Sandbox
from sandbox.servicebus import AsyncSandboxTokenCredential, QueueOptions, ServiceBusBroker
from shared.cli.demo import signing_certificate, write_demo_policy
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, RESULTS_QUEUE, WORK_QUEUE
from shared.messaging.worker import WorkerOptions, run_worker

if TYPE_CHECKING:
    from shared.messaging.hosting import MessagingHost

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


@dataclass(frozen=True)
class Platform:
    """The HTTP sandbox, the broker, a policy trusting `certificate`; this process's settings aim at them."""

    sandbox: Sandbox
    broker: ServiceBusBroker
    certificate: bytes
    second_certificate: bytes  # another trusted signer: a second FIC on the same identity
    policy: Path
    env: dict[str, str]


@pytest.fixture
def platform(
    sandbox: Sandbox, broker: ServiceBusBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Platform:
    certificate = signing_certificate()
    second_certificate = signing_certificate("Contoso Tools")
    policy = write_demo_policy(tmp_path, sandbox.env, certificate, second_certificate)
    env = {
        **sandbox.env,
        "ServiceBusConnection__fullyQualifiedNamespace": broker.fully_qualified_namespace,
        "PPMI_SERVICEBUS_TLS": "false",
        "PPMI_POLICY_FILE": str(policy),
        "PPMI_RETRY_BASE_SECONDS": "1",
    }
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Platform(sandbox, broker, certificate, second_certificate, policy, env)


FAST_WORKER = WorkerOptions(sessions=3, event_receivers=1, receive_wait_seconds=0.3, session_idle_seconds=0.5)


@asynccontextmanager
async def worker(options: WorkerOptions = FAST_WORKER) -> AsyncIterator[MessagingHost]:
    """`ppmi worker` in this process, on the platform's settings, until the block ends."""
    from shared.messaging.hosting import open_messaging_host

    async with open_messaging_host() as host:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(host, options, stop))
        try:
            yield host
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
