"""The proton event handler: AMQP links in, queue operations out, all on the reactor thread.

Links are routed by address: `$cbs` (token put, any token accepted), `<queue>/$management` (request/response),
`<queue>` and `<queue>/$DeadLetterQueue` (send and receive). The broker's state lock is held for each event so
tests can read queues from their own thread.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

from proton import Condition, Connection, Data, Delivery, Endpoint, Event, Handler, Link, symbol

from sandbox.servicebus._codec import (
    MessageFormatError,
    decode_message,
    decode_value_message,
    encode_value_message,
    from_timestamp,
    split_batch,
    to_dotnet_ticks,
)
from sandbox.servicebus._management import handle_management_request
from sandbox.servicebus._queue import MessageLockLostError, Outcome, Queue
from sandbox.servicebus._sessions import SessionLockedError

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

SESSION_FILTER = symbol("com.microsoft:session-filter")
NEXT_SESSION_TIMEOUT = (
    65.0  # what Service Bus waits for a session to become available when not told otherwise
)
MAX_MESSAGE_SIZE = 256 * 1024  # the Standard tier limit
TICK = 0.02  # how often timers (locks, schedules, stop requests) are checked


class _RefusedError(Exception):
    def __init__(self, condition: str, description: str) -> None:
        super().__init__(description)
        self.condition = _error(condition, description)


@dataclass(eq=False)
class _ReceiveLink:
    """A link on which the broker hands messages to a client receiver."""

    link: Link
    queue: Queue
    owner: Hashable
    delete_on_send: bool
    session_id: str | None = None


@dataclass(eq=False)
class _PendingSession:
    """A receiver waiting for any session to become free (`NEXT_AVAILABLE_SESSION`)."""

    link: Link
    queue: Queue
    owner: Hashable
    delete_on_send: bool
    deadline: float


@dataclass
class _ConnectionState:
    key: int
    reply_links: list[Link] = field(default_factory=list)


def _guarded(method: Callable[[BrokerHandler, Event], None]) -> Callable[[BrokerHandler, Event], None]:
    """Keep the reactor alive when one event fails: log it and detach the link (or connection) involved."""

    @functools.wraps(method)
    def run(self: BrokerHandler, event: Event) -> None:
        try:
            method(self, event)
        except Exception:
            logger.exception("Service Bus sandbox failed handling %s", event.type)
            endpoint = event.link or event.connection
            if endpoint is not None and not endpoint.state & Endpoint.LOCAL_CLOSED:
                endpoint.condition = _error("amqp:internal-error", "The sandbox broker failed; see its log.")
                endpoint.close()

    return run


def _error(condition: str, description: str) -> Condition:
    """An AMQP error as Service Bus sends it, with a tracking id in `info` (the SDK reads all fields)."""
    return Condition(condition, description, {symbol("com.microsoft:tracking-id"): str(uuid.uuid4())})


def _present(value: _T | None) -> _T:
    """The endpoint an event is about; proton's types allow None where the event kind rules it out."""
    if value is None:
        raise RuntimeError("proton delivered an event without the endpoint it concerns")
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _tag(raw: bytes) -> str:
    """proton sends a bytes tag as is; its annotations only admit str (which it would UTF-8 encode)."""
    return cast(str, raw)


def _terminus_object(data: Data) -> Any:
    data.rewind()
    return data.get_object() if data.next() else None


class BrokerHandler(Handler):
    def __init__(
        self,
        queues: Mapping[str, Queue],
        state_lock: threading.RLock,
        on_listening: Callable[[int], None],
        host: str,
        port: int,
    ) -> None:
        super().__init__()
        self._queues = queues
        self._lock = state_lock
        self._on_listening = on_listening
        self._host, self._port = host, port
        self.stop_requested = threading.Event()
        self._connections: dict[Connection, _ConnectionState] = {}
        self._receivers: dict[Link, _ReceiveLink] = {}
        self._pending_sessions: list[_PendingSession] = []
        self._outbox: dict[Link, list[bytes]] = {}
        self._lock_tokens: dict[Delivery, uuid.UUID] = {}
        self._keys = itertools.count(1)
        self._acceptor: Any = None

    # -- lifecycle -----------------------------------------------------------------------------------------
    def on_reactor_init(self, event: Event) -> None:
        self._acceptor = event.container.listen(f"{self._host}:{self._port}")
        self._on_listening(int(self._acceptor._selectable.getsockname()[1]))
        event.container.schedule(TICK, self)

    @_guarded
    def on_timer_task(self, event: Event) -> None:
        if self.stop_requested.is_set():
            self._acceptor.close()
            for connection in list(self._connections):
                connection.close()
            event.container.stop()
            return
        event.container.schedule(TICK, self)
        with self._lock:
            self._advance_time()

    @_guarded
    def on_connection_bound(self, event: Event) -> None:
        sasl = _present(event.transport).sasl()
        sasl.allow_insecure_mechs = True
        sasl.allowed_mechs("ANONYMOUS PLAIN")
        self._connections[_present(event.connection)] = _ConnectionState(next(self._keys))

    def on_connection_remote_open(self, event: Event) -> None:
        connection = _present(event.connection)
        if connection.state & Endpoint.LOCAL_UNINIT:
            connection.container = "ppmi-sandbox-servicebus"
            connection.open()

    def on_session_remote_open(self, event: Event) -> None:
        session = _present(event.session)
        if session.state & Endpoint.LOCAL_UNINIT:
            session.open()

    def on_connection_remote_close(self, event: Event) -> None:
        _present(event.connection).close()

    def on_session_remote_close(self, event: Event) -> None:
        _present(event.session).close()

    @_guarded
    def on_transport_closed(self, event: Event) -> None:
        connection = _present(event.connection)
        with self._lock:
            for record in [r for r in self._receivers.values() if r.link.connection == connection]:
                self._forget_receiver(record.link)
            self._pending_sessions = [p for p in self._pending_sessions if p.link.connection != connection]
            self._connections.pop(connection, None)

    @_guarded
    def on_link_remote_close(self, event: Event) -> None:
        link = _present(event.link)
        with self._lock:
            self._forget_receiver(link)
            self._pending_sessions = [p for p in self._pending_sessions if p.link != link]
            self._outbox.pop(link, None)
            state = self._connections.get(link.connection)
            if state is not None and link in state.reply_links:
                state.reply_links.remove(link)
            self._pump_all()
        link.close()

    # -- attach --------------------------------------------------------------------------------------------
    @_guarded
    def on_link_remote_open(self, event: Event) -> None:
        link = _present(event.link)
        if not link.state & Endpoint.LOCAL_UNINIT:
            return
        link.source.copy(link.remote_source)
        link.target.copy(link.remote_target)
        address = (link.remote_source if link.is_sender else link.remote_target).address or ""
        path = self._path(address)
        with self._lock:
            try:
                if link.is_sender:
                    self._attach_outgoing(link, path)
                else:
                    self._attach_incoming(link, path)
            except _RefusedError as refusal:
                link.open()
                link.condition = refusal.condition
                link.close()

    @staticmethod
    def _path(address: str) -> str:
        parsed = urlparse(address)
        return (parsed.path if parsed.scheme else address).strip("/")

    def _queue(self, path: str) -> Queue:
        name, _, sub = path.partition("/")
        queue = self._queues.get(name)
        if queue is None:
            raise _RefusedError("amqp:not-found", f"The messaging entity '{name}' could not be found.")
        if sub == "$DeadLetterQueue" and queue.dead_letter_queue is not None:
            return queue.dead_letter_queue
        if sub:
            raise _RefusedError("amqp:not-found", f"The messaging entity '{path}' could not be found.")
        return queue

    def _attach_incoming(self, link: Link, path: str) -> None:
        if path != "$cbs" and not path.endswith("/$management"):
            self._queue(path)
        link.max_message_size = MAX_MESSAGE_SIZE
        link.open()
        link.flow(100)

    def _attach_outgoing(self, link: Link, path: str) -> None:
        if path == "$cbs" or path.endswith("/$management"):
            self._connections[link.connection].reply_links.append(link)
            link.open()
            return
        queue = self._queue(path)
        owner = (self._connections[link.connection].key, link.name)
        delete = link.remote_snd_settle_mode == Link.SND_SETTLED
        if delete:
            link.snd_settle_mode = Link.SND_SETTLED
        filters = _terminus_object(link.remote_source.filter)
        if not isinstance(filters, dict) or SESSION_FILTER not in filters:
            if queue.options.requires_session:
                raise _RefusedError(
                    "amqp:not-allowed",
                    "It is not possible for an entity that requires sessions to create a non-sessionful "
                    "message receiver.",
                )
            link.open()
            self._receivers[link] = _ReceiveLink(link, queue, owner, delete)
            return
        requested = filters[SESSION_FILTER]
        # Should this attach end in a refusal, the SDK's attach callback still reads the session filter
        # and the lock expiry: give it the requested id (empty for "next available") and no expiry.
        self._describe_session(link, "" if requested is None else str(requested), None)
        if requested is not None:
            try:
                queue.sessions.lock(str(requested), owner, time.time())
            except SessionLockedError as error:
                raise _RefusedError(
                    "com.microsoft:session-cannot-be-locked",
                    f"The requested session '{requested}' cannot be accepted. "
                    "It may be locked by another receiver.",
                ) from error
            self._open_session_link(_ReceiveLink(link, queue, owner, delete, str(requested)))
            return
        timeout = (link.remote_properties or {}).get(symbol("com.microsoft:timeout"))
        wait = NEXT_SESSION_TIMEOUT if timeout is None else int(timeout) / 1000
        pending = _PendingSession(link, queue, owner, delete, time.time() + wait)
        if not self._grant_next_session(pending):
            self._pending_sessions.append(pending)

    @staticmethod
    def _describe_session(link: Link, session_id: str, locked_until: float | None) -> None:
        link.source.filter.clear()
        link.source.filter.put_object({SESSION_FILTER: session_id})
        ticks = 0 if locked_until is None else to_dotnet_ticks(locked_until)
        link.properties = {symbol("com.microsoft:locked-until-utc"): ticks}

    def _open_session_link(self, record: _ReceiveLink) -> None:
        assert record.session_id is not None
        until = record.queue.sessions.locked_until(record.session_id)
        self._describe_session(record.link, record.session_id, until)
        record.link.open()
        self._receivers[record.link] = record

    def _grant_next_session(self, pending: _PendingSession) -> bool:
        now = time.time()
        for session_id in pending.queue.sessions_with_available_messages():
            if not pending.queue.sessions.is_locked(session_id, now):
                pending.queue.sessions.lock(session_id, pending.owner, now)
                record = _ReceiveLink(
                    pending.link, pending.queue, pending.owner, pending.delete_on_send, session_id
                )
                self._open_session_link(record)
                return True
        return False

    # -- transfers -----------------------------------------------------------------------------------------
    @_guarded
    def on_link_flow(self, event: Event) -> None:
        with self._lock:
            self._pump(_present(event.link))

    @_guarded
    def on_delivery(self, event: Event) -> None:
        link, delivery = _present(event.link), _present(event.delivery)
        with self._lock:
            if link.is_receiver:
                self._on_incoming(link, delivery)
            else:
                self._on_disposition(link, delivery)
            self._pump_all()

    def _on_incoming(self, link: Link, delivery: Delivery) -> None:
        if delivery.partial:
            return
        if delivery.aborted:
            delivery.settle()
            return
        payload = bytes(link.recv(delivery.pending))
        link.advance()
        path = self._path(link.remote_target.address or "")
        try:
            if path == "$cbs" or path.endswith("/$management"):
                self._answer_request(link, path, payload)
            else:
                self._enqueue(self._queue(path), payload)
            delivery.update(Delivery.ACCEPTED)
        except _RefusedError as refusal:
            delivery.local.condition = refusal.condition
            delivery.update(Delivery.REJECTED)
        delivery.settle()
        link.flow(1)

    def _enqueue(self, queue: Queue, payload: bytes) -> None:
        try:
            encoded_messages = split_batch(payload) or [payload]
            messages = [decode_message(encoded) for encoded in encoded_messages]
        except MessageFormatError as error:
            raise _RefusedError("amqp:decode-error", str(error)) from error
        if queue.options.requires_session and any(m.session_id is None for m in messages):
            raise _RefusedError(
                "amqp:not-allowed",
                "The SessionId was not set on a message, and it cannot be sent to the entity. Entities that "
                "have session support enabled can only receive messages that have the SessionId set.",
            )
        now = time.time()
        for message in messages:
            when = message.annotation("x-opt-scheduled-enqueue-time")
            queue.accept(message, now, scheduled_time=None if when is None else from_timestamp(when))

    def _answer_request(self, link: Link, path: str, payload: bytes) -> None:
        request = decode_value_message(payload)
        if path == "$cbs":
            properties: dict[str, Any] = {"status-code": 200, "status-description": "OK"}
            body: Any = None
        else:
            associated = request.application_properties.get("associated-link-name")
            owner = (self._connections[link.connection].key, None if associated is None else str(associated))
            reply = handle_management_request(
                self._queue(path.removesuffix("/$management")), request, owner, time.time()
            )
            properties = {"statusCode": reply.status, "statusDescription": reply.description}
            if reply.condition is not None:
                properties["errorCondition"] = symbol(reply.condition)
            body = reply.body
        encoded = encode_value_message(
            body, correlation_id=request.message_id, application_properties=properties
        )
        reply_link = self._reply_link(link, path)
        if reply_link is not None:
            self._outbox.setdefault(reply_link, []).append(encoded)
            self._pump(reply_link)

    def _reply_link(self, request_link: Link, path: str) -> Link | None:
        candidates = [
            reply
            for reply in self._connections[request_link.connection].reply_links
            if self._path(reply.remote_source.address or "") == path
        ]
        same_session = [reply for reply in candidates if reply.session == request_link.session]
        return (same_session or candidates)[-1] if candidates else None

    def _on_disposition(self, link: Link, delivery: Delivery) -> None:
        record = self._receivers.get(link)
        state = delivery.remote_state
        if record is None or not state:
            if delivery.remote_settled:
                delivery.settle()
            return
        outcome, reason, description = self._outcome(delivery)
        try:
            lock_token = self._lock_tokens.pop(delivery, None)
            if lock_token is None:
                raise MessageLockLostError("the delivery carries no lock")
            record.queue.settle(lock_token, outcome, time.time(), reason=reason, description=description)
            delivery.update(state)
        except MessageLockLostError:
            delivery.local.condition = _error(
                "com.microsoft:message-lock-lost", "The lock supplied is invalid or has expired."
            )
            delivery.update(Delivery.REJECTED)
        delivery.settle()

    @staticmethod
    def _outcome(delivery: Delivery) -> tuple[Outcome, str | None, str | None]:
        state, remote = delivery.remote_state, delivery.remote
        if state == Delivery.ACCEPTED:
            return Outcome.COMPLETE, None, None
        if state == Delivery.REJECTED:
            details: Any = (remote.condition and remote.condition.info) or {}
            info = {str(k): v for k, v in dict(details).items()}
            reason, description = info.get("DeadLetterReason"), info.get("DeadLetterErrorDescription")
            return Outcome.DEAD_LETTER, _text(reason), _text(description)
        if state == Delivery.MODIFIED and remote.undeliverable:
            return Outcome.DEFER, None, None
        if state == Delivery.MODIFIED and remote.failed:
            return Outcome.ABANDON, None, None
        return Outcome.RELEASE, None, None

    # -- sending to receivers ------------------------------------------------------------------------------
    def _pump_all(self) -> None:
        for link in list(self._outbox) + list(self._receivers):
            self._pump(link)

    def _pump(self, link: Link) -> None:
        if not link.is_sender or not link.state & Endpoint.LOCAL_ACTIVE:
            return
        outbox = self._outbox.get(link)
        while outbox and link.credit > 0:
            reply = link.delivery(_tag(uuid.uuid4().bytes))
            link.send(outbox.pop(0))
            link.advance()
            reply.settle()
        record = self._receivers.get(link)
        while record is not None and link.credit > 0:
            message = record.queue.acquire(
                time.time(), record.owner, session_id=record.session_id, delete=record.delete_on_send
            )
            if message is None:
                break
            tag = message.lock_token.bytes_le if message.lock_token else uuid.uuid4().bytes
            delivery = link.delivery(_tag(tag))
            link.send(message.encode())
            link.advance()
            if message.lock_token is None:
                delivery.settle()
            else:
                self._lock_tokens[delivery] = message.lock_token
        if link.drain_mode:
            link.drained()

    def _forget_receiver(self, link: Link) -> None:
        record = self._receivers.pop(link, None)
        if record is None:
            return
        for delivery in [d for d in self._lock_tokens if d.link == link]:
            del self._lock_tokens[delivery]
        if record.session_id is not None:
            # Closing a session receiver gives the session up at once; what it held unsettled is redelivered.
            # Plain peek-lock messages stay locked until their lock expires, as on Service Bus.
            record.queue.release_owner(record.owner)
            record.queue.sessions.release(record.owner)

    def _advance_time(self) -> None:
        now = time.time()
        for queue in self._queues.values():
            for owner in queue.advance(now) + (
                queue.dead_letter_queue.advance(now) if queue.dead_letter_queue else []
            ):
                for record in [r for r in self._receivers.values() if r.owner == owner]:
                    self._receivers.pop(record.link, None)
                    record.link.condition = _error(
                        "com.microsoft:session-lock-lost",
                        "The session lock has expired on the MessageSession.",
                    )
                    record.link.close()
        for pending in list(self._pending_sessions):
            if self._grant_next_session(pending):
                self._pending_sessions.remove(pending)
            elif pending.deadline <= now:
                self._pending_sessions.remove(pending)
                pending.link.open()
                pending.link.condition = _error(
                    "com.microsoft:timeout", "No session became available within the operation timeout."
                )
                pending.link.close()
        self._pump_all()
