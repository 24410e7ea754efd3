"""Publish an event to `ppmi-events` and, when asked, wait for its result on a reply session of our own.

`ppmi publish --wait` reads its result from a reply session derived from the event ID and leaves it there
(it peeks): run again with the same `--id`, the publish is a duplicate Service Bus drops, and the result
the first run saw is found again at once. Results leave with the queue's time-to-live (14 days deployed).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver

from shared.events import Event, EventValidationError, ResultEvent, parse_result
from shared.messaging.envelope import EVENTS_QUEUE, NO_KEEP_ALIVE, RESULTS_QUEUE, OutgoingMessage
from shared.messaging.outbox import Outbox

# Fixed: changing it would make a re-run look for its result in another session.
_REPLY_NAMESPACE = uuid.UUID("0f3c9a5e-2b1d-4c7e-8f6a-5d4b3c2a1e09")
_PEEK_PAGE = 100
_POLL_SECONDS = 1.0
_RENEW_BELOW_SECONDS = 10.0  # half of the session lock left (a minute deployed): renew it


def unique_reply_session() -> str:
    """A session no other caller reads, so only our results arrive on it."""
    return f"reply-{uuid.uuid4()}"


def reply_session_for(event_id: str) -> str:
    """The reply session of one event: the same on every run, so a re-run finds the first run's result."""
    return f"reply-{uuid.uuid5(_REPLY_NAMESPACE, event_id)}"


def event_message(event: Event) -> OutgoingMessage:
    """Message ID = event ID: Service Bus duplicate detection drops a re-published event."""
    return OutgoingMessage(
        queue=EVENTS_QUEUE,
        body=event.to_json(),
        message_id=event.id,
        reply_to_session_id=event.reply_session,
        subject=event.type,
    )


async def publish(client: ServiceBusClient, events: list[Event]) -> None:
    outbox = Outbox(client)
    try:
        await outbox.send(event_message(event) for event in events)
    finally:
        await outbox.close()


@dataclass(frozen=True)
class ReceivedResult:
    result: ResultEvent
    received_at: float  # time.monotonic() when it was read


async def wait_for_results(
    client: ServiceBusClient, *, event_ids: set[str], reply_session: str, within: float
) -> dict[str, ReceivedResult]:
    """Results for `event_ids` read from `reply_session` until all arrived or `within` seconds passed."""
    results: dict[str, ReceivedResult] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with client.get_queue_receiver(
        RESULTS_QUEUE, session_id=reply_session, keep_alive=NO_KEEP_ALIVE, prefetch_count=50
    ) as receiver:
        while event_ids - results.keys():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            # The session lock (a minute on ppmi-results) is shorter than a publisher may wait: keep it.
            await receiver.session.renew_lock()
            batch = await receiver.receive_messages(
                max_message_count=1, max_wait_time=min(remaining, _lock_margin(receiver), 5.0)
            )
            for message in batch:
                try:
                    result = parse_result(b"".join(message.body))
                except EventValidationError:
                    await receiver.dead_letter_message(message, reason="not a ppmi result")
                    continue
                await receiver.complete_message(message)
                if result.data.event_id in event_ids:
                    results[result.data.event_id] = ReceivedResult(result, time.monotonic())
    return results


def _lock_margin(receiver: ServiceBusReceiver) -> float:
    """Half the time left on the session lock: the next renewal comes well before it runs out."""
    locked_until = receiver.session.locked_until_utc
    if locked_until is None:
        return 5.0
    return max(0.1, (locked_until - datetime.now(UTC)).total_seconds() / 2)


async def result_of(
    client: ServiceBusClient, event_id: str, *, reply_session: str, within: float
) -> ResultEvent | None:
    """The newest result for `event_id` on `reply_session`, waiting up to `within` seconds (0: look once).

    Results are peeked, never settled, so the next caller for the same event finds them too; anything on
    the session that is no ppmi result is skipped.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    found: ResultEvent | None = None
    next_sequence = 0
    async with client.get_queue_receiver(
        RESULTS_QUEUE, session_id=reply_session, keep_alive=NO_KEEP_ALIVE
    ) as receiver:
        while True:
            page = await receiver.peek_messages(max_message_count=_PEEK_PAGE, sequence_number=next_sequence)
            for message in page:
                next_sequence = max(next_sequence, (message.sequence_number or 0) + 1)
                try:
                    result = parse_result(b"".join(message.body))
                except EventValidationError:
                    continue
                if result.data.event_id == event_id:
                    found = result  # peeked in sequence order: the last one is the newest
            if page:
                continue
            remaining = deadline - loop.time()
            if found is not None or remaining <= 0:
                return found
            if _lock_margin(receiver) < _RENEW_BELOW_SECONDS:
                await receiver.session.renew_lock()
            await asyncio.sleep(min(_POLL_SECONDS, remaining))
