"""One Service Bus queue in memory: peek-lock, delivery counts, dead-lettering, scheduling, duplicates.

Pure state with the clock passed in, so the reactor decides when time moves and tests read it safely.
"""

from __future__ import annotations

import enum
import itertools
import math
import uuid
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

from sandbox.servicebus._codec import AmqpMessage, encode_for_delivery, to_timestamp
from sandbox.servicebus._sessions import SessionTable

MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"
TTL_EXPIRED = "TTLExpiredException"


class MessageLockLostError(Exception):
    """The lock token is unknown or its lock has expired (`com.microsoft:message-lock-lost`)."""


@dataclass(frozen=True)
class QueueOptions:
    """The queue properties Service Bus lets an operator set, with its defaults (times in seconds)."""

    requires_session: bool = False
    max_delivery_count: int = 10
    lock_duration: float = 30.0
    duplicate_detection_window: float | None = None
    dead_lettering_on_expiration: bool = False
    default_message_ttl: float | None = None

    def __post_init__(self) -> None:
        if self.max_delivery_count < 1:
            raise ValueError(f"max_delivery_count must be at least 1, not {self.max_delivery_count}.")
        if self.lock_duration <= 0:
            raise ValueError(f"lock_duration must be a positive number of seconds, not {self.lock_duration}.")
        for name in ("duplicate_detection_window", "default_message_ttl"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive seconds or None (off), not {value}.")


class MessageState(enum.Enum):
    ACTIVE = "active"
    LOCKED = "locked"
    SCHEDULED = "scheduled"
    DEFERRED = "deferred"


class Outcome(enum.Enum):
    COMPLETE = "complete"
    ABANDON = "abandon"
    RELEASE = "release"
    DEAD_LETTER = "dead-letter"
    DEFER = "defer"


# `x-opt-message-state` values: Active, Deferred, Scheduled (a locked message is still active).
_STATE_CODES = {MessageState.DEFERRED: 1, MessageState.SCHEDULED: 2}


@dataclass
class StoredMessage:
    """A message held by the broker plus what Service Bus tracks about it."""

    sequence_number: int
    amqp: AmqpMessage
    enqueued_time: float
    state: MessageState = MessageState.ACTIVE
    delivery_count: int = 0
    scheduled_time: float | None = None
    lock_token: uuid.UUID | None = None
    locked_until: float | None = None
    lock_owner: Hashable | None = None
    was_deferred: bool = False
    dead_letter_properties: dict[str, str] = field(default_factory=dict)

    @property
    def session_id(self) -> str | None:
        return self.amqp.session_id

    def encode(self) -> bytes:
        """The message as a receiver sees it, with the annotations Service Bus stamps on every delivery."""
        annotations: dict[str, object] = {
            "x-opt-sequence-number": self.sequence_number,
            "x-opt-enqueued-time": to_timestamp(self.enqueued_time),
            "x-opt-message-state": _STATE_CODES.get(self.state, 0),
        }
        if self.locked_until is not None:
            annotations["x-opt-locked-until"] = to_timestamp(self.locked_until)
        if self.scheduled_time is not None:
            annotations["x-opt-scheduled-enqueue-time"] = to_timestamp(self.scheduled_time)
        return encode_for_delivery(
            self.amqp,
            delivery_count=self.delivery_count,
            extra_annotations=annotations,
            extra_application_properties=self.dead_letter_properties,
        )


class Queue:
    """A queue (or the dead-letter sub-queue of one); every method runs under the broker's state lock."""

    def __init__(self, name: str, options: QueueOptions, *, dead_letter_of: Queue | None = None) -> None:
        self.name = name
        self.options = options
        self._messages: dict[int, StoredMessage] = {}
        # The same messages by session (None: sent without one), so a session receiver looks at its own only.
        self._by_session: dict[str | None, dict[int, StoredMessage]] = {}
        self._locks: dict[uuid.UUID, StoredMessage] = {}
        self._seen_message_ids: dict[str, float] = {}
        self._sequence: Iterator[int] = (
            itertools.count(1) if dead_letter_of is None else dead_letter_of._sequence
        )
        self.sessions = SessionTable(options.lock_duration)
        # The earliest moment a lock, schedule or time to live may run out: `advance` scans only from then.
        self._next_due = math.inf
        self.dead_letter_queue: Queue | None = None
        # Deliveries of a message delivered before, and locks (message or session) that ran out with a message
        # still held: what a consumer that loses its locks costs, counted where Service Bus would see it.
        self.redeliveries = 0
        self.lock_expiries = 0
        if dead_letter_of is None:
            dlq_options = QueueOptions(max_delivery_count=2**31 - 1, lock_duration=options.lock_duration)
            self.dead_letter_queue = Queue(f"{name}/$DeadLetterQueue", dlq_options, dead_letter_of=self)

    # -- arrival -------------------------------------------------------------------------------------------
    def accept(self, amqp: AmqpMessage, now: float, *, scheduled_time: float | None = None) -> int | None:
        """Store a sent message; returns its sequence number, or None when dropped as a duplicate."""
        if self._is_duplicate(amqp.message_id, now):
            return None
        message = StoredMessage(next(self._sequence), amqp, enqueued_time=now)
        if scheduled_time is not None and scheduled_time > now:
            message.state, message.scheduled_time = MessageState.SCHEDULED, scheduled_time
        self._store(message)
        self._note_deadline(self._deadline(message))
        return message.sequence_number

    def _store(self, message: StoredMessage) -> None:
        self._messages[message.sequence_number] = message
        self._by_session.setdefault(message.session_id, {})[message.sequence_number] = message

    def _drop(self, message: StoredMessage) -> None:
        del self._messages[message.sequence_number]
        same_session = self._by_session.get(message.session_id, {})
        same_session.pop(message.sequence_number, None)
        if not same_session:
            self._by_session.pop(message.session_id, None)

    def _is_duplicate(self, message_id: str | None, now: float) -> bool:
        window = self.options.duplicate_detection_window
        if window is None or message_id is None:
            return False
        # Ids are remembered in arrival order, so the ones that left the window are at the front.
        while self._seen_message_ids:
            oldest_id, seen_at = next(iter(self._seen_message_ids.items()))
            if seen_at + window > now:
                break
            del self._seen_message_ids[oldest_id]
        if message_id in self._seen_message_ids:
            return True
        self._seen_message_ids[message_id] = now
        return False

    def cancel_scheduled(self, sequence_number: int) -> bool:
        message = self._messages.get(sequence_number)
        if message is None or message.state is not MessageState.SCHEDULED:
            return False
        self._drop(message)
        return True

    # -- delivery ------------------------------------------------------------------------------------------
    def acquire(
        self, now: float, owner: Hashable, *, session_id: str | None = None, delete: bool = False
    ) -> StoredMessage | None:
        """The next available message (of `session_id` for session receivers), locked to `owner` or taken."""
        candidates = self._messages if session_id is None else self._by_session.get(session_id, {})
        for message in candidates.values():
            if message.state is MessageState.ACTIVE and session_id in (None, message.session_id):
                if self._expire_if_due(message, now):
                    return self.acquire(now, owner, session_id=session_id, delete=delete)
                if delete:
                    self._drop(message)
                    return message
                self._lock(message, owner, now)
                return message
        return None

    def _lock(self, message: StoredMessage, owner: Hashable, now: float) -> None:
        if message.delivery_count > 0:
            self.redeliveries += 1
        message.state = MessageState.LOCKED
        message.lock_token = uuid.uuid4()
        message.lock_owner = owner
        if self.options.requires_session and message.session_id is not None:
            message.locked_until = self.sessions.locked_until(message.session_id)
        else:
            message.locked_until = now + self.options.lock_duration
            self._note_deadline(message.locked_until)
        self._locks[message.lock_token] = message

    def acquire_by_sequence_number(self, sequence_number: int, now: float, owner: Hashable) -> StoredMessage:
        """Lock a deferred message for the receiver that asks for it by number."""
        message = self._messages.get(sequence_number)
        if message is None or message.state is not MessageState.DEFERRED:
            raise KeyError(sequence_number)
        self._lock(message, owner, now)
        return message

    def settle(
        self,
        lock_token: uuid.UUID,
        outcome: Outcome,
        now: float,
        *,
        reason: str | None = None,
        description: str | None = None,
    ) -> None:
        message = self._locks.get(lock_token)
        if message is None:
            raise MessageLockLostError(str(lock_token))
        self._unlock(message)
        if outcome is Outcome.COMPLETE:
            self._drop(message)
        elif outcome is Outcome.DEAD_LETTER:
            self.move_to_dead_letter(message, reason or "", description or "")
        elif outcome is Outcome.DEFER:
            message.state, message.was_deferred = MessageState.DEFERRED, True
        elif outcome is Outcome.ABANDON:
            self._return_after_failed_delivery(message)
        else:
            message.state = MessageState.DEFERRED if message.was_deferred else MessageState.ACTIVE

    def _unlock(self, message: StoredMessage) -> None:
        if message.lock_token is not None:
            self._locks.pop(message.lock_token, None)
        message.lock_token = message.locked_until = message.lock_owner = None
        self._note_deadline(self._expiry_time(message))

    def _return_after_failed_delivery(self, message: StoredMessage) -> None:
        message.delivery_count += 1
        if message.delivery_count >= self.options.max_delivery_count:
            description = f"Message could not be consumed after {message.delivery_count} delivery attempts."
            self.move_to_dead_letter(message, MAX_DELIVERY_COUNT_EXCEEDED, description)
        else:
            message.state = MessageState.DEFERRED if message.was_deferred else MessageState.ACTIVE

    def move_to_dead_letter(self, message: StoredMessage, reason: str, description: str) -> None:
        self._unlock(message)
        message.state, message.was_deferred = MessageState.ACTIVE, False
        if self.dead_letter_queue is None:  # dead-lettering from the dead-letter queue leaves it there
            return
        self._drop(message)
        message.dead_letter_properties = {
            "DeadLetterReason": reason,
            "DeadLetterErrorDescription": description,
        }
        self.dead_letter_queue._store(message)

    def renew_lock(self, lock_token: uuid.UUID, now: float) -> float:
        message = self._locks.get(lock_token)
        if message is None:
            raise MessageLockLostError(str(lock_token))
        message.locked_until = now + self.options.lock_duration
        return message.locked_until

    def release_owner(self, owner: Hashable) -> int:
        """A receiver went away: what it held returns to the queue, counted as a failed delivery; how many."""
        held = [m for m in self._locks.values() if m.lock_owner == owner]
        for message in held:
            self._unlock(message)
            self._return_after_failed_delivery(message)
        return len(held)

    # -- time ----------------------------------------------------------------------------------------------
    def advance(self, now: float) -> list[Hashable]:
        """Expire message locks, start due scheduled messages, expire messages past their time to live.

        Returns the owners whose session lock expired, so the server can detach their links.
        """
        if now >= self._next_due:
            self._next_due = math.inf
            for message in list(self._messages.values()):
                if message.state is MessageState.SCHEDULED and message.scheduled_time is not None:
                    if message.scheduled_time <= now:
                        message.state, message.enqueued_time = MessageState.ACTIVE, message.scheduled_time
                elif message.state is MessageState.LOCKED and not self.options.requires_session:
                    if message.locked_until is not None and message.locked_until <= now:
                        self.lock_expiries += 1
                        self._unlock(message)
                        self._return_after_failed_delivery(message)
                elif message.state is MessageState.ACTIVE and self._expire_if_due(message, now):
                    continue
                if message.sequence_number in self._messages:
                    self._note_deadline(self._deadline(message))
        lost = self.sessions.expire(now)
        for owner in lost:
            self.lock_expiries += self.release_owner(owner)
        return lost

    def _note_deadline(self, moment: float | None) -> None:
        if moment is not None:
            self._next_due = min(self._next_due, moment)

    def _deadline(self, message: StoredMessage) -> float | None:
        """When this message next changes by itself: its schedule, its lock, or its time to live."""
        if message.state is MessageState.SCHEDULED:
            return message.scheduled_time
        if message.state is MessageState.LOCKED:
            return None if self.options.requires_session else message.locked_until
        return self._expiry_time(message) if message.state is MessageState.ACTIVE else None

    def _expiry_time(self, message: StoredMessage) -> float | None:
        ttl = message.amqp.ttl_ms / 1000 if message.amqp.ttl_ms else self.options.default_message_ttl
        if ttl is None or self.dead_letter_queue is None:
            return None
        return message.enqueued_time + ttl

    def _expire_if_due(self, message: StoredMessage, now: float) -> bool:
        expiry = self._expiry_time(message)
        if expiry is None or expiry > now:
            return False
        if self.options.dead_lettering_on_expiration:
            self.move_to_dead_letter(message, TTL_EXPIRED, "The message expired and was dead lettered.")
        else:
            self._drop(message)
        return True

    # -- reading -------------------------------------------------------------------------------------------
    def messages(self) -> Iterator[StoredMessage]:
        return iter(list(self._messages.values()))

    def peek(self, from_sequence_number: int, count: int, session_id: str | None) -> list[StoredMessage]:
        return [
            message
            for message in self._messages.values()
            if message.sequence_number >= from_sequence_number and session_id in (None, message.session_id)
        ][:count]

    def sessions_with_available_messages(self) -> list[str]:
        """Session ids in the order their oldest available message arrived."""
        oldest: dict[str, int] = {}
        for session_id, messages in self._by_session.items():
            if session_id is None:
                continue
            first = next((m for m in messages.values() if m.state is MessageState.ACTIVE), None)
            if first is not None:
                oldest[session_id] = first.sequence_number
        return sorted(oldest, key=oldest.__getitem__)
