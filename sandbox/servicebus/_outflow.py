"""What the broker sends: messages to receiver links, replies to management links, settlement echoes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Hashable
from typing import Any

from proton import Delivery, Endpoint, Link

from sandbox.servicebus._links import (
    PendingSession,
    ReceiveLink,
    amqp_error,
    delivery_tag,
    describe_session,
    text,
)
from sandbox.servicebus._queue import MessageLockLostError, Outcome


class Outflow:
    """Receiver links with their locks, receivers waiting for a session, and replies waiting for credit."""

    def __init__(self) -> None:
        self.receivers: dict[Link, ReceiveLink] = {}
        self.pending_sessions: list[PendingSession] = []
        self._outbox: dict[Link, list[bytes]] = {}
        self._lock_tokens: dict[Delivery, uuid.UUID] = {}

    # -- receivers -----------------------------------------------------------------------------------------
    def open_receiver(self, record: ReceiveLink) -> None:
        if record.session_id is not None:
            until = record.queue.sessions.locked_until(record.session_id)
            describe_session(record.link, record.session_id, until)
        record.link.open()
        self.receivers[record.link] = record

    def grant_next_session(self, pending: PendingSession, available: list[str] | None = None) -> bool:
        """Give the waiting receiver the session whose oldest available message came first, if any is free.

        `available` is the queue's sessions with available messages, oldest first, when the caller already
        has it (it serves many waiting receivers in a row); the granted session is taken off it.
        """
        now = time.time()
        if available is None:
            available = pending.queue.sessions_with_available_messages()
        for session_id in available:
            if not pending.queue.sessions.is_locked(session_id, now):
                pending.queue.sessions.lock(session_id, pending.owner, now)
                available.remove(session_id)
                self.open_receiver(
                    ReceiveLink(
                        pending.link, pending.queue, pending.owner, pending.delete_on_send, session_id
                    )
                )
                return True
        return False

    def serve_pending_sessions(self, now: float) -> None:
        available: dict[int, list[str]] = {}  # per queue, read once for all of its waiting receivers
        for pending in list(self.pending_sessions):
            sessions = available.get(id(pending.queue))
            if sessions is None:
                sessions = available[id(pending.queue)] = pending.queue.sessions_with_available_messages()
            if self.grant_next_session(pending, sessions):
                self.pending_sessions.remove(pending)
            elif pending.deadline <= now:
                self.pending_sessions.remove(pending)
                pending.link.open()
                pending.link.condition = amqp_error(
                    "com.microsoft:timeout", "No session became available within the operation timeout."
                )
                pending.link.close()

    def close_lost_sessions(self, owners: list[Hashable]) -> None:
        for record in [r for r in self.receivers.values() if r.owner in owners]:
            self._drop_receiver(record.link)
            record.link.condition = amqp_error(
                "com.microsoft:session-lock-lost", "The session lock has expired on the MessageSession."
            )
            record.link.close()

    def forget(self, link: Link) -> None:
        """The link is gone: drop what tracks it; a session receiver's session and messages go back."""
        self.pending_sessions = [p for p in self.pending_sessions if p.link != link]
        self._outbox.pop(link, None)
        record = self._drop_receiver(link)
        if record is not None and record.session_id is not None:
            # Closing a session receiver gives the session up at once; what it held unsettled is redelivered.
            # Plain peek-lock messages stay locked until their lock expires, as on Service Bus.
            record.queue.release_owner(record.owner)
            record.queue.sessions.release(record.owner)

    def _drop_receiver(self, link: Link) -> ReceiveLink | None:
        for delivery in [d for d in self._lock_tokens if d.link == link]:
            del self._lock_tokens[delivery]
        return self.receivers.pop(link, None)

    # -- settlement ----------------------------------------------------------------------------------------
    def settle(self, link: Link, delivery: Delivery) -> None:
        """Apply a receiver's disposition and echo it settled (or refuse it when the lock is gone)."""
        record = self.receivers.get(link)
        state = delivery.remote_state
        if record is None or not state:
            if delivery.settled:  # settled by the peer: settle our end too
                delivery.settle()
            return
        outcome, reason, description = _outcome(delivery)
        try:
            lock_token = self._lock_tokens.pop(delivery, None)
            if lock_token is None:
                raise MessageLockLostError("the delivery carries no lock")
            record.queue.settle(lock_token, outcome, time.time(), reason=reason, description=description)
            delivery.update(state)
        except MessageLockLostError:
            delivery.local.condition = amqp_error(
                "com.microsoft:message-lock-lost", "The lock supplied is invalid or has expired."
            )
            delivery.update(Delivery.REJECTED)
        delivery.settle()

    # -- sending -------------------------------------------------------------------------------------------
    def reply(self, link: Link, encoded: bytes) -> None:
        self._outbox.setdefault(link, []).append(encoded)
        self.pump(link)

    def pump_all(self) -> None:
        for link in list(self._outbox) + list(self.receivers):
            self.pump(link)

    def pump(self, link: Link) -> None:
        """Send as much as the link's credit allows: queued replies first, then messages."""
        if not link.is_sender or not link.state & Endpoint.LOCAL_ACTIVE:
            return
        outbox = self._outbox.get(link)
        while outbox and link.credit > 0:
            reply = link.delivery(delivery_tag(uuid.uuid4().bytes))
            link.send(outbox.pop(0))
            link.advance()
            reply.settle()
        record = self.receivers.get(link)
        while record is not None and link.credit > 0:
            message = record.queue.acquire(
                time.time(), record.owner, session_id=record.session_id, delete=record.delete_on_send
            )
            if message is None:
                break
            # The SDK reads the lock token from the delivery tag: UUID(bytes_le=tag).
            tag = message.lock_token.bytes_le if message.lock_token else uuid.uuid4().bytes
            delivery = link.delivery(delivery_tag(tag))
            link.send(message.encode())
            link.advance()
            if message.lock_token is None:
                delivery.settle()
            else:
                self._lock_tokens[delivery] = message.lock_token
        if link.drain_mode:
            link.drained()


def _outcome(delivery: Delivery) -> tuple[Outcome, str | None, str | None]:
    """Service Bus's reading of AMQP outcomes: modified+undeliverable defers, modified+failed abandons."""
    state, remote = delivery.remote_state, delivery.remote
    if state == Delivery.ACCEPTED:
        return Outcome.COMPLETE, None, None
    if state == Delivery.REJECTED:
        details: Any = (remote.condition and remote.condition.info) or {}
        info = {str(k): v for k, v in dict(details).items()}
        return (
            Outcome.DEAD_LETTER,
            text(info.get("DeadLetterReason")),
            text(info.get("DeadLetterErrorDescription")),
        )
    if state == Delivery.MODIFIED and remote.undeliverable:
        return Outcome.DEFER, None, None
    if state == Delivery.MODIFIED and remote.failed:
        return Outcome.ABANDON, None, None
    return Outcome.RELEASE, None, None
