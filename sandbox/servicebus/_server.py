"""The proton event handler: AMQP links in, queue operations out, all on the reactor thread.

Links are routed by address: `$cbs` (token put, checked by `_cbs`), `<queue>/$management` (request/response),
`<queue>` and `<queue>/$DeadLetterQueue` (send and receive). The broker's state lock is held for each event so
tests can read queues from their own thread.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from proton import Connection, Delivery, Endpoint, Event, Handler, Link, symbol

from sandbox.servicebus._cbs import ConnectionClaims, put_token
from sandbox.servicebus._codec import (
    MessageFormatError,
    decode_message,
    decode_value_message,
    encode_value_message,
    from_timestamp,
    split_batch,
)
from sandbox.servicebus._links import (
    SESSION_FILTER,
    PendingSession,
    ReceiveLink,
    RefusedError,
    amqp_error,
    describe_session,
    present,
    terminus_object,
)
from sandbox.servicebus._management import handle_management_request
from sandbox.servicebus._outflow import Outflow
from sandbox.servicebus._queue import Queue
from sandbox.servicebus._sessions import SessionLockedError
from sandbox.tokens import TokenAuthority

logger = logging.getLogger(__name__)

# What Service Bus waits for a session to become available when the receiver names no timeout.
NEXT_SESSION_TIMEOUT = 65.0
MAX_MESSAGE_SIZE = 256 * 1024  # the Standard tier limit
TICK = 0.02  # how often timers (locks, schedules, stop requests) are checked


@dataclass
class _ConnectionState:
    """Per connection: a key that makes lock owners unique, and the links management replies leave on."""

    key: int
    reply_links: list[Link] = field(default_factory=list)
    claims: ConnectionClaims = field(default_factory=ConnectionClaims)


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
                endpoint.condition = amqp_error(
                    "amqp:internal-error", "The sandbox broker failed; see its log."
                )
                endpoint.close()

    return run


class BrokerHandler(Handler):
    """Every proton event of the broker: connections, attaches, transfers, dispositions and the clock."""

    def __init__(
        self,
        queues: Mapping[str, Queue],
        state_lock: threading.RLock,
        on_listening: Callable[[int], None],
        host: str,
        port: int,
        *,
        authority: TokenAuthority,
    ) -> None:
        super().__init__()
        self._authority = authority
        self._queues = queues
        self._lock = state_lock
        self._on_listening = on_listening
        self._host, self._port = host, port
        self.stop_requested = threading.Event()
        self._connections: dict[Connection, _ConnectionState] = {}
        self._outflow = Outflow()
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
        sasl = present(event.transport).sasl()
        sasl.allow_insecure_mechs = True
        # The SDK authenticates with SASL ANONYMOUS plus a token on $cbs. PLAIN would need proton built with
        # Cyrus SASL (the wheel is not), so it is not offered.
        sasl.allowed_mechs("ANONYMOUS")
        self._connections[present(event.connection)] = _ConnectionState(next(self._keys))

    def on_connection_remote_open(self, event: Event) -> None:
        connection = present(event.connection)
        if connection.state & Endpoint.LOCAL_UNINIT:
            connection.container = "ppmi-sandbox-servicebus"
            connection.open()

    def on_session_remote_open(self, event: Event) -> None:
        session = present(event.session)
        if session.state & Endpoint.LOCAL_UNINIT:
            session.open()

    def on_connection_remote_close(self, event: Event) -> None:
        present(event.connection).close()

    def on_session_remote_close(self, event: Event) -> None:
        present(event.session).close()

    @_guarded
    def on_transport_closed(self, event: Event) -> None:
        connection = present(event.connection)
        with self._lock:
            links = [r.link for r in self._outflow.receivers.values()] + [
                p.link for p in self._outflow.pending_sessions
            ]
            for link in links:
                if link.connection == connection:
                    self._outflow.forget(link)
            self._connections.pop(connection, None)

    @_guarded
    def on_link_remote_close(self, event: Event) -> None:
        link = present(event.link)
        with self._lock:
            self._outflow.forget(link)
            state = self._connections.get(link.connection)
            if state is not None and link in state.reply_links:
                state.reply_links.remove(link)
            self._outflow.pump_all()
        link.close()

    # -- attach --------------------------------------------------------------------------------------------
    @_guarded
    def on_link_remote_open(self, event: Event) -> None:
        link = present(event.link)
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
            except RefusedError as refusal:
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
            raise RefusedError("amqp:not-found", f"The messaging entity '{name}' could not be found.")
        if sub == "$DeadLetterQueue" and queue.dead_letter_queue is not None:
            return queue.dead_letter_queue
        if sub:
            raise RefusedError("amqp:not-found", f"The messaging entity '{path}' could not be found.")
        return queue

    def _require_claim(self, link: Link, path: str) -> None:
        if not self._connections[link.connection].claims.permits(path):
            raise RefusedError(
                "amqp:unauthorized-access",
                f"Unauthorized access: no valid token was put on $cbs for '{path}'.",  # wording UNCONFIRMED
            )

    def _attach_incoming(self, link: Link, path: str) -> None:
        is_node = path == "$cbs" or path.endswith("/$management")
        if path != "$cbs":
            self._require_claim(link, path)
        if not is_node and self._queue(path).dead_letter_queue is None:
            raise RefusedError("amqp:not-allowed", f"Messages cannot be sent to '{path}'.")
        link.max_message_size = MAX_MESSAGE_SIZE
        link.open()
        link.flow(100)

    def _attach_outgoing(self, link: Link, path: str) -> None:
        if path == "$cbs" or path.endswith("/$management"):
            self._connections[link.connection].reply_links.append(link)
            link.open()
            return
        self._require_claim(link, path)
        queue = self._queue(path)
        owner = (self._connections[link.connection].key, link.name)
        delete = link.remote_snd_settle_mode == Link.SND_SETTLED
        if delete:
            link.snd_settle_mode = Link.SND_SETTLED
        filters = terminus_object(link.remote_source.filter)
        if not isinstance(filters, dict) or SESSION_FILTER not in filters:
            if queue.options.requires_session:
                raise RefusedError(
                    "amqp:not-allowed",
                    "It is not possible for an entity that requires sessions to create a non-sessionful "
                    "message receiver.",
                )
            self._outflow.open_receiver(ReceiveLink(link, queue, owner, delete))
            return
        requested = filters[SESSION_FILTER]
        # Should this attach end in a refusal, the SDK's attach callback still reads the session filter
        # and the lock expiry: give it the requested id (empty for "next available") and no expiry.
        describe_session(link, "" if requested is None else str(requested), None)
        if requested is not None:
            try:
                queue.sessions.lock(str(requested), owner, time.time())
            except SessionLockedError as error:
                raise RefusedError(
                    "com.microsoft:session-cannot-be-locked",
                    f"The requested session '{requested}' cannot be accepted. "
                    "It may be locked by another receiver.",
                ) from error
            self._outflow.open_receiver(ReceiveLink(link, queue, owner, delete, str(requested)))
            return
        timeout = (link.remote_properties or {}).get(symbol("com.microsoft:timeout"))
        wait = NEXT_SESSION_TIMEOUT if timeout is None else int(timeout) / 1000
        pending = PendingSession(link, queue, owner, delete, time.time() + wait)
        if not self._outflow.grant_next_session(pending):
            self._outflow.pending_sessions.append(pending)

    # -- transfers -----------------------------------------------------------------------------------------
    @_guarded
    def on_link_flow(self, event: Event) -> None:
        with self._lock:
            self._outflow.pump(present(event.link))

    @_guarded
    def on_delivery(self, event: Event) -> None:
        link, delivery = present(event.link), present(event.delivery)
        with self._lock:
            if link.is_receiver:
                self._on_incoming(link, delivery)
            else:
                self._outflow.settle(link, delivery)
            self._outflow.pump_all()

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
        except RefusedError as refusal:
            delivery.local.condition = refusal.condition
            delivery.update(Delivery.REJECTED)
        delivery.settle()
        link.flow(1)

    def _enqueue(self, queue: Queue, payload: bytes) -> None:
        try:
            encoded_messages = split_batch(payload) or [payload]
            messages = [decode_message(encoded) for encoded in encoded_messages]
        except MessageFormatError as error:
            raise RefusedError("amqp:decode-error", str(error)) from error
        if queue.options.requires_session and any(m.session_id is None for m in messages):
            raise RefusedError(
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
            claims = self._connections[link.connection].claims
            put = put_token(self._authority, claims, request.application_properties, request.body)
            properties: dict[str, Any] = {"status-code": put.status, "status-description": put.description}
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
            self._outflow.reply(reply_link, encoded)

    def _reply_link(self, request_link: Link, path: str) -> Link | None:
        candidates = [
            reply
            for reply in self._connections[request_link.connection].reply_links
            if self._path(reply.remote_source.address or "") == path
        ]
        same_session = [reply for reply in candidates if reply.session == request_link.session]
        return (same_session or candidates)[-1] if candidates else None

    def _advance_time(self) -> None:
        """Run the queues' clocks; detach receivers whose session lock ran out; serve waiting receivers."""
        now = time.time()
        for queue in self._queues.values():
            lost = queue.advance(now)
            if queue.dead_letter_queue is not None:
                queue.dead_letter_queue.advance(now)
            self._outflow.close_lost_sessions(lost)
        self._outflow.serve_pending_sessions(now)
        self._outflow.pump_all()
