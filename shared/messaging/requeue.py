"""Re-drive kept messages, from `ppmi-kept` or a queue's dead-letter sub-queue, back to their source queue.

A re-driven message starts again at attempt 1 with its re-drive count raised, so every message derived from it
gets a fresh ID that duplicate detection will not drop. A run re-drives what was kept when it started, once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from azure.servicebus import ServiceBusReceivedMessage, ServiceBusSubQueue
from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver
from azure.servicebus.exceptions import MessageAlreadySettled, MessageLockLostError

from shared.errors import PermanentError
from shared.messaging.envelope import (
    ATTEMPT,
    EVENTS_QUEUE,
    KEPT_CLASS,
    KEPT_QUEUE,
    KEPT_REASON,
    NO_KEEP_ALIVE,
    ORIGIN_ID,
    REDRIVE,
    SESSION_ID,
    SOURCE_QUEUE,
    WORK_QUEUE,
    IncomingMessage,
    OutgoingMessage,
    derived_message_id,
)
from shared.messaging.outbox import Outbox, from_sdk_message

# Where kept messages can be: ppmi-kept, and the dead-letter sub-queues the host fills after crash loops.
REDRIVE_SOURCES = (KEPT_QUEUE, EVENTS_QUEUE, WORK_QUEUE)
_BOOKKEEPING = (KEPT_REASON, KEPT_CLASS, SOURCE_QUEUE, SESSION_ID)
_PEEK_PAGE = 100
_NEXT_PAGE_WAIT = 0.3


@dataclass(frozen=True)
class KeptMessage:
    """One kept message as an operator sees it."""

    message_id: str
    origin_id: str
    source_queue: str
    kept_class: str
    reason: str
    attempt: int
    session_id: str | None
    sequence_number: int


def describe(message: ServiceBusReceivedMessage, location: str) -> KeptMessage:
    incoming = from_sdk_message(message, location)
    is_dead_letter = location != KEPT_QUEUE
    if is_dead_letter:
        description = message.dead_letter_error_description or ""
        reason = f"{message.dead_letter_reason or 'dead-lettered'}: {description}".rstrip(": ")
    else:
        reason = str(incoming.properties.get(KEPT_REASON, ""))
    return KeptMessage(
        message_id=incoming.message_id,
        origin_id=incoming.origin_id,
        source_queue=location if is_dead_letter else str(incoming.properties.get(SOURCE_QUEUE, "")),
        kept_class="dead-lettered" if is_dead_letter else str(incoming.properties.get(KEPT_CLASS, "")),
        reason=reason,
        attempt=incoming.attempt,
        session_id=incoming.session_id or _text(incoming.properties.get(SESSION_ID)),
        sequence_number=message.sequence_number or 0,
    )


def redriven(incoming: IncomingMessage, kept: KeptMessage) -> OutgoingMessage:
    """The copy sent back to the source queue: bookkeeping dropped, attempt reset, re-drive count raised."""
    properties = {key: value for key, value in incoming.properties.items() if key not in _BOOKKEEPING}
    redrive = incoming.redrive + 1
    properties.update({ORIGIN_ID: incoming.origin_id, REDRIVE: redrive, ATTEMPT: 1})
    return OutgoingMessage(
        queue=kept.source_queue,
        body=incoming.body,
        message_id=derived_message_id(incoming.origin_id, redrive=redrive, attempt=1),
        properties=properties,
        session_id=kept.session_id if kept.source_queue == WORK_QUEUE else None,
        reply_to_session_id=incoming.reply_to_session_id,
        correlation_id=incoming.correlation_id,
    )


async def list_kept(client: ServiceBusClient, location: str) -> list[KeptMessage]:
    """Every kept message at `location`, read without locking (peek)."""
    kept: list[KeptMessage] = []
    async with _receiver(client, location) as receiver:
        sequence_number = 0
        while True:
            page = await receiver.peek_messages(max_message_count=_PEEK_PAGE, sequence_number=sequence_number)
            if not page:
                return kept
            kept.extend(describe(message, location) for message in page)
            sequence_number = max(message.sequence_number or 0 for message in page) + 1


async def requeue(
    client: ServiceBusClient,
    location: str,
    *,
    message_ids: Collection[str] | None,
    wait_seconds: float = 2.0,
    redriven_one: Callable[[KeptMessage], None] | None = None,
) -> list[KeptMessage]:
    """Send the chosen kept messages (all when `message_ids` is None) back to their source; complete them.

    A run works on the messages kept when it started, each once: a re-driven message that is kept again
    (the cause is not fixed yet) arrives behind them and waits for the next run instead of looping. Messages
    not chosen are held locked until the run ends and then abandoned (which counts as a delivery: give
    `ppmi-kept` a generous max delivery count).
    """
    snapshot = await list_kept(client, location)
    wanted = None if message_ids is None else set(message_ids)
    run = _Redrive(
        location=location,
        chosen={
            kept.sequence_number
            for kept in snapshot
            if wanted is None or kept.message_id in wanted or kept.origin_id in wanted
        },
        last_kept=max((kept.sequence_number for kept in snapshot), default=0),
        redriven_one=redriven_one,
    )
    if not run.chosen:
        return []
    outbox = Outbox(client)
    try:
        async with _receiver(client, location) as receiver:
            try:
                await run.receive(receiver, outbox, wait_seconds)
            finally:
                for message in run.held:
                    with contextlib.suppress(MessageLockLostError, MessageAlreadySettled):
                        await receiver.abandon_message(message)  # a lapsed lock frees it anyway
    finally:
        await outbox.close()
    return run.done


@dataclass
class _Redrive:
    """One run: the sequence numbers still to re-drive, what was re-driven, what is held back locked."""

    location: str
    chosen: set[int]
    last_kept: int  # the highest sequence number kept when the run started
    redriven_one: Callable[[KeptMessage], None] | None
    done: list[KeptMessage] = field(default_factory=list)
    held: list[ServiceBusReceivedMessage] = field(default_factory=list)

    async def receive(self, receiver: ServiceBusReceiver, outbox: Outbox, wait_seconds: float) -> None:
        """Receive in sequence order until every chosen message is re-driven or the snapshot is passed."""
        wait = wait_seconds
        while self.chosen:
            batch = await receiver.receive_messages(max_message_count=_PEEK_PAGE, max_wait_time=wait)
            wait = min(wait_seconds, _NEXT_PAGE_WAIT)  # later pages are prefetched or not there at all
            if not batch:
                return  # the rest were taken meanwhile (or are locked by another reader)
            for message in batch:
                if (message.sequence_number or 0) in self.chosen:
                    await self._redrive(receiver, outbox, message)
                else:
                    self.held.append(message)  # kept locked, so it is not delivered to this run again
            if max(message.sequence_number or 0 for message in batch) > self.last_kept:
                return  # past what was kept when the run started: the rest are not there any more

    async def _redrive(
        self, receiver: ServiceBusReceiver, outbox: Outbox, message: ServiceBusReceivedMessage
    ) -> None:
        self.chosen.discard(message.sequence_number or 0)
        kept = describe(message, self.location)
        if kept.source_queue not in (EVENTS_QUEUE, WORK_QUEUE):
            self.held.append(message)
            raise PermanentError(
                f"kept message {kept.message_id} names no source queue ({kept.source_queue!r}); "
                "inspect it with `ppmi requeue --dry-run`"
            )
        await outbox.send([redriven(from_sdk_message(message, self.location), kept)])
        await receiver.complete_message(message)
        self.done.append(kept)
        if self.redriven_one is not None:
            self.redriven_one(kept)


def _receiver(client: ServiceBusClient, location: str) -> ServiceBusReceiver:
    if location == KEPT_QUEUE:
        return client.get_queue_receiver(KEPT_QUEUE, keep_alive=NO_KEEP_ALIVE, prefetch_count=_PEEK_PAGE)
    return client.get_queue_receiver(
        location,
        sub_queue=ServiceBusSubQueue.DEAD_LETTER,
        keep_alive=NO_KEEP_ALIVE,
        prefetch_count=_PEEK_PAGE,
    )


def _text(value: object) -> str | None:
    return str(value) if value else None
