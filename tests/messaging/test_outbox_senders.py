"""The outbox sends on a few senders per queue: concurrent sends all arrive, each caller's in its order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from azure.servicebus import ServiceBusMessage
from azure.servicebus.aio import ServiceBusClient, ServiceBusSender

from sandbox.servicebus import ServiceBusBroker
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, OutgoingMessage
from shared.messaging.outbox import SENDERS_PER_QUEUE, Outbox

CALLERS = 24
SENDS_PER_CALLER = 4


def opened_senders(
    client: ServiceBusClient, monkeypatch: pytest.MonkeyPatch
) -> dict[str, list[ServiceBusSender]]:
    """Every sender the client hands out from now on, by queue."""
    opened: dict[str, list[ServiceBusSender]] = {}
    real = client.get_queue_sender

    def recording(queue_name: str, **kwargs: Any) -> ServiceBusSender:
        sender = real(queue_name, **kwargs)
        opened.setdefault(queue_name, []).append(sender)
        return sender

    monkeypatch.setattr(client, "get_queue_sender", recording)
    return opened


def message(queue: str, caller: int, n: int) -> OutgoingMessage:
    return OutgoingMessage(queue=queue, body=f"{caller}:{n}".encode(), message_id=f"caller-{caller}-{n}")


async def send_from(outbox: Outbox, queue: str, caller: int) -> None:
    """One caller's sends one after another: a single message, then a run of two in one send."""
    for n in range(0, SENDS_PER_CALLER * 2, 2):
        await outbox.send([message(queue, caller, n)])
        await outbox.send([message(queue, caller, n + 1), message(queue, caller, n + 1 + 1000)])


def arrived(broker: ServiceBusBroker, queue: str) -> list[str]:
    return [str(snapshot.message_id) for snapshot in broker.queue(queue).messages()]


async def test_many_concurrent_sends_to_one_queue_all_arrive_each_callers_in_its_order_on_a_few_senders(
    servicebus: ServiceBusClient, broker: ServiceBusBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = opened_senders(servicebus, monkeypatch)
    outbox = Outbox(servicebus)
    try:
        await asyncio.gather(*(send_from(outbox, EVENTS_QUEUE, caller) for caller in range(CALLERS)))
    finally:
        await outbox.close()

    ids = arrived(broker, EVENTS_QUEUE)
    assert len(ids) == len(set(ids)) == CALLERS * SENDS_PER_CALLER * 3
    for caller in range(CALLERS):
        expected = [
            f"caller-{caller}-{n}"
            for pair in range(0, SENDS_PER_CALLER * 2, 2)
            for n in (pair, pair + 1, pair + 1 + 1000)
        ]
        assert [mid for mid in ids if mid.startswith(f"caller-{caller}-")] == expected
    # Sends overlapped on several senders, never more than the cap for the queue.
    assert 1 < len(opened[EVENTS_QUEUE]) <= SENDERS_PER_QUEUE


async def test_the_sender_cap_is_per_queue_and_close_shuts_every_sender_it_opened(
    servicebus: ServiceBusClient, broker: ServiceBusBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = opened_senders(servicebus, monkeypatch)
    outbox = Outbox(servicebus, senders_per_queue=3)
    try:
        await asyncio.gather(
            *(
                send_from(outbox, queue, caller)
                for queue in (EVENTS_QUEUE, KEPT_QUEUE)
                for caller in range(12)
            )
        )
    finally:
        await outbox.close()

    assert sorted(opened) == sorted([EVENTS_QUEUE, KEPT_QUEUE])
    assert all(1 < len(senders) <= 3 for senders in opened.values())
    assert len(arrived(broker, EVENTS_QUEUE)) == len(arrived(broker, KEPT_QUEUE)) == 12 * SENDS_PER_CALLER * 3
    for senders in opened.values():
        for sender in senders:
            with pytest.raises(ValueError, match="shutdown"):
                await sender.send_messages(ServiceBusMessage(b"after close"))
