"""The ways a receiver works through what it is handed, as the Functions host's triggers do.

- `as_they_come`: messages taken while earlier ones are still in hand, up to a number at once, settled as each
  finishes. The single-message triggers work this way: `maxConcurrentCalls` messages of a queue at once, or
  `maxConcurrentCallsPerSession` of a held session, its lock renewed, until it is idle (Azure.Messaging.
  ServiceBus `ServiceBusProcessor` and `SessionReceiverManager`); so does `ppmi worker` (a view of ARM per
  hold, a busy session let go at half the renewal limit).
- `in_batches`: the Functions batch trigger (`cardinality=many`): the waiting messages (up to
  `maxMessageBatchSize`) handed over at once, settled together when the call returns, then the next batch,
  until an empty receive of `sessionIdleTimeout` closes the session. The host neither renews the session lock
  nor works another session meanwhile (Azure/azure-sdk-for-net,
  `Microsoft.Azure.WebJobs.Extensions.ServiceBus/src/Listeners/ServiceBusListener.cs`,
  `RunBatchReceiveLoopAsync`); a batch that outlives the lock cannot be settled and comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusReceiver

from shared.messaging.disposition import Disposition
from shared.messaging.envelope import IncomingMessage
from shared.messaging.outbox import from_sdk_message
from shared.messaging.settling import WorkerStats, dead_lettered, settle

Handle = Callable[[IncomingMessage], Awaitable[Disposition]]
HandleBatch = Callable[[Sequence[IncomingMessage]], Awaitable[list[Disposition | BaseException]]]

BUSY_RECEIVE_SECONDS = 0.05  # while messages are in hand, look for more this long before settling


@dataclass(frozen=True)
class Drain:
    """What every way of draining needs: the queue, where it stops, the queue's limits, and the counts."""

    queue: str
    stop: asyncio.Event
    stats: WorkerStats
    max_delivery_count: int
    idle_seconds: float

    async def received(self, receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage) -> bool:
        """False when the message was dead-lettered instead (delivered too often)."""
        return not await dead_lettered(receiver, message, self.queue, self.max_delivery_count, self.stats)


async def as_they_come(
    receiver: ServiceBusReceiver,
    drain: Drain,
    *,
    handle: Handle,
    at_once: int,
    release_after: float | None = None,
) -> None:
    """Handle a receiver's messages as they come, up to `at_once` in hand, until it is idle.

    Every receiver operation (receive, settle) runs here, one at a time; handling runs in tasks. With
    `release_after` (seconds) the session is let go once that long has passed and the messages in hand are
    settled, rather than losing its lock while messages are in hand.
    """
    loop = asyncio.get_running_loop()
    release_at = None if release_after is None else loop.time() + release_after
    handling: dict[asyncio.Task[Disposition | BaseException], ServiceBusReceivedMessage] = {}
    try:
        while not drain.stop.is_set() and (release_at is None or loop.time() < release_at):
            room = at_once - len(handling)
            received: list[ServiceBusReceivedMessage] = []
            if room > 0:
                wait = drain.idle_seconds if not handling else BUSY_RECEIVE_SECONDS
                received = await receiver.receive_messages(max_message_count=room, max_wait_time=wait)
            if not received and not handling:
                return  # idle: a session is released so another identity gets a turn
            for message in received:
                if await drain.received(receiver, message):
                    incoming = from_sdk_message(message, drain.queue)
                    handling[asyncio.create_task(_outcome(handle, incoming))] = message
            if handling and (not received or len(handling) >= at_once):
                await asyncio.wait(handling, return_when=asyncio.FIRST_COMPLETED)
            await _settle_done(receiver, handling, drain)
    finally:
        if handling:
            await asyncio.wait(handling)
            await _settle_done(receiver, handling, drain)


async def in_batches(
    receiver: ServiceBusReceiver, drain: Drain, *, handle_batch: HandleBatch, batch_size: int
) -> None:
    """The Functions batch trigger: the waiting messages as one batch, settled, then the next, until idle."""
    while not drain.stop.is_set():
        batch = await receiver.receive_messages(
            max_message_count=batch_size, max_wait_time=drain.idle_seconds
        )
        if not batch:
            return  # the session is idle: release it so another identity gets a turn
        held = [message for message in batch if await drain.received(receiver, message)]
        if not held:
            continue
        try:
            results = await handle_batch([from_sdk_message(message, drain.queue) for message in held])
        except Exception as error:  # the host's contract: any failure abandons, and the messages come back
            results = [error] * len(held)
        settled = [
            await settle(receiver, message, result, drain.stats, drain.queue)
            for message, result in zip(held, results, strict=True)
        ]
        if not all(settled):
            return  # the session lock ran out during the batch: the host closes the receiver


async def _outcome(handle: Handle, message: IncomingMessage) -> Disposition | BaseException:
    try:
        return await handle(message)
    except Exception as error:  # the host's contract: any failure abandons, and the message comes back
        return error


async def _settle_done(
    receiver: ServiceBusReceiver,
    handling: dict[asyncio.Task[Disposition | BaseException], ServiceBusReceivedMessage],
    drain: Drain,
) -> None:
    """Complete or abandon every message whose handling has finished, as its result says."""
    for task in [task for task in handling if task.done()]:
        await settle(receiver, handling.pop(task), task.result(), drain.stats, drain.queue)
