"""How a receiver settles what it was handed, as the Functions host does, and what the worker counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusReceiver
from azure.servicebus.exceptions import MessageLockLostError, SessionLockLostError

from shared.messaging.disposition import Disposition
from shared.messaging.envelope import WORK_QUEUE
from shared.telemetry import get_logger

log = get_logger(__name__)

MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"
REDELIVERED = "redelivered"  # received again: abandoned before, or its lock ran out
LOCK_LOST = "lock-lost"  # could not be settled: its (session) lock had run out, so it comes back


@dataclass
class WorkerStats:
    """How many messages ended how, by queue; the worker's own canonical summary."""

    outcomes: Counter[str] = field(default_factory=Counter)

    def count(self, queue: str, outcome: str) -> None:
        self.outcomes[f"{queue}:{outcome}"] += 1


async def dead_lettered(
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
    queue: str,
    max_delivery_count: int,
    stats: WorkerStats,
) -> bool:
    """Dead-letter a message delivered more often than the queue allows; True when it was.

    Counts every message delivered before (`redelivered`), so a lock that ran out shows in the figures.
    """
    delivery_count = (message.delivery_count or 0) + 1
    if delivery_count > 1:
        stats.count(queue, REDELIVERED)
    if delivery_count <= max_delivery_count:
        return False
    await receiver.dead_letter_message(
        message,
        reason=MAX_DELIVERY_COUNT_EXCEEDED,
        error_description=f"delivered {delivery_count - 1} times without completing",
    )
    stats.count(queue, "dead-lettered")
    return True


async def settle(
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
    result: Disposition | BaseException,
    stats: WorkerStats,
    queue: str = WORK_QUEUE,
) -> bool:
    """Complete on a disposition, abandon on an exception; False when the lock was gone (it comes back)."""
    try:
        if isinstance(result, BaseException):
            log.error("message.abandoned", queue=queue, message_id=message.message_id, error=str(result))
            await receiver.abandon_message(message)
            stats.count(queue, "abandoned")
        else:
            await receiver.complete_message(message)
            stats.count(queue, result.outcome.value)
    except (MessageLockLostError, SessionLockLostError) as error:
        log.warning("message.lock_lost", queue=queue, message_id=message.message_id, error=str(error))
        stats.count(queue, LOCK_LOST)
        return False
    return True
