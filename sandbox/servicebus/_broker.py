"""The broker's Python face: start and stop the reactor thread, read queue contents for tests."""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from proton.reactor import Container

from sandbox.servicebus._queue import MessageState, Queue, QueueOptions, StoredMessage
from sandbox.servicebus._server import BrokerHandler
from sandbox.tokens import PROCESS_AUTHORITY, TokenAuthority

logger = logging.getLogger(__name__)


class _PeerHangUpFilter(logging.Filter):
    """proton logs a client hanging up mid-write as an error; for a broker that is routine: dropped."""

    _ROUTINE = ("BrokenPipeError", "ConnectionResetError")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Couldn't ") and any(name in message for name in self._ROUTINE))


_PEER_HANG_UP_FILTER = _PeerHangUpFilter()

_DAY = 86400.0
# ppmi's queues as infra/core/messaging/service-bus.bicep declares them, but with a 30 s lock.
_PPMI_QUEUE = QueueOptions(
    duplicate_detection_window=600.0,
    lock_duration=30.0,
    dead_lettering_on_expiration=True,
    default_message_ttl=14 * _DAY,
)
DEFAULT_QUEUES: Mapping[str, QueueOptions] = {
    "ppmi-events": _PPMI_QUEUE,
    "ppmi-work": replace(_PPMI_QUEUE, requires_session=True, max_delivery_count=10),
    "ppmi-results": replace(_PPMI_QUEUE, requires_session=True),
    "ppmi-kept": replace(_PPMI_QUEUE, max_delivery_count=100, default_message_ttl=90 * _DAY),
}

_START_TIMEOUT = 10.0


def _utc(moment: float | None) -> datetime.datetime | None:
    return None if moment is None else datetime.datetime.fromtimestamp(moment, datetime.UTC)


@dataclass(frozen=True)
class MessageSnapshot:
    """What a test may want to know about one stored message, copied out of the broker."""

    sequence_number: int
    message_id: str | None
    session_id: str | None
    body: bytes
    application_properties: Mapping[str, Any]
    content_type: str | None
    correlation_id: str | None
    subject: str | None
    reply_to_session_id: str | None
    time_to_live: datetime.timedelta | None
    delivery_count: int
    state: str
    enqueued_time: datetime.datetime
    scheduled_enqueue_time: datetime.datetime | None
    dead_letter_reason: str | None
    dead_letter_description: str | None

    @classmethod
    def of(cls, message: StoredMessage) -> MessageSnapshot:
        amqp = message.amqp
        ttl = None if amqp.ttl_ms is None else datetime.timedelta(milliseconds=amqp.ttl_ms)
        enqueued = _utc(message.enqueued_time)
        assert enqueued is not None
        return cls(
            sequence_number=message.sequence_number,
            message_id=amqp.message_id,
            session_id=amqp.session_id,
            body=amqp.body,
            application_properties=dict(amqp.application_properties),
            content_type=amqp.content_type,
            correlation_id=amqp.correlation_id,
            subject=amqp.subject,
            reply_to_session_id=amqp.reply_to_session_id,
            time_to_live=ttl,
            delivery_count=message.delivery_count,
            state=message.state.value,
            enqueued_time=enqueued,
            scheduled_enqueue_time=_utc(message.scheduled_time),
            dead_letter_reason=message.dead_letter_properties.get("DeadLetterReason"),
            dead_letter_description=message.dead_letter_properties.get("DeadLetterErrorDescription"),
        )


class QueueView:
    """Read-only access to one queue for assertions; every read takes the broker's state lock."""

    def __init__(self, queue: Queue, lock: threading.RLock) -> None:
        self._queue = queue
        self._lock = lock

    @property
    def options(self) -> QueueOptions:
        return self._queue.options

    def _count(self, *states: MessageState) -> int:
        with self._lock:
            return sum(1 for message in self._queue.messages() if message.state in states)

    @property
    def active_count(self) -> int:
        """Messages waiting or locked by a receiver (Service Bus's ActiveMessageCount)."""
        return self._count(MessageState.ACTIVE, MessageState.LOCKED)

    @property
    def scheduled_count(self) -> int:
        return self._count(MessageState.SCHEDULED)

    @property
    def deferred_count(self) -> int:
        return self._count(MessageState.DEFERRED)

    @property
    def redeliveries(self) -> int:
        """Deliveries of messages delivered before (abandoned, or their lock ran out)."""
        with self._lock:
            return self._queue.redeliveries

    @property
    def lock_expiries(self) -> int:
        """Messages whose lock (or whose session's lock) ran out while a receiver held them."""
        with self._lock:
            return self._queue.lock_expiries

    @property
    def dead_letter_count(self) -> int:
        return len(self.dead_letters())

    def messages(self) -> list[MessageSnapshot]:
        """Every message in the queue (not its dead-letter sub-queue), in sequence order."""
        with self._lock:
            return [MessageSnapshot.of(message) for message in self._queue.messages()]

    def dead_letters(self) -> list[MessageSnapshot]:
        dead_letter_queue = self._queue.dead_letter_queue
        if dead_letter_queue is None:
            return []
        with self._lock:
            return [MessageSnapshot.of(message) for message in dead_letter_queue.messages()]

    def session_state(self, session_id: str) -> bytes | None:
        with self._lock:
            return self._queue.sessions.state_of(session_id)


class ServiceBusBroker:
    """An AMQP 1.0 Service Bus stand-in on loopback that the `azure-servicebus` SDK talks to unchanged.

    Connect with `fully_qualified_namespace=f"127.0.0.1:{broker.port}"`, `use_tls=False` and a credential
    whose tokens `authority` issued (`SandboxTokenCredential`, or the sandbox's token endpoint); tokens put on
    `$cbs` are checked for signature, expiry and audience.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        queues: Mapping[str, QueueOptions] | None = None,
        authority: TokenAuthority = PROCESS_AUTHORITY,
    ) -> None:
        self.host = host
        self._requested_port = port
        logging.getLogger("proton").addFilter(_PEER_HANG_UP_FILTER)  # adding the same filter twice is a no-op
        self._lock = threading.RLock()
        self._queues = {name: Queue(name, options) for name, options in (queues or DEFAULT_QUEUES).items()}
        self._port: int | None = None
        self._listening = threading.Event()
        self._handler = BrokerHandler(
            self._queues, self._lock, self._listened, host, port, authority=authority
        )
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    def _listened(self, port: int) -> None:
        self._port = port
        self._listening.set()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("The broker is not listening yet: call start() first.")
        return self._port

    @property
    def is_running(self) -> bool:
        """Whether the reactor thread is alive (it ends once `stop()` returns)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def fully_qualified_namespace(self) -> str:
        """The value for `ServiceBusConnection__fullyQualifiedNamespace` (with TLS off)."""
        return f"{self.host}:{self.port}"

    def start(self) -> ServiceBusBroker:
        """Start the reactor thread; returns once the listening socket is bound."""
        if self._thread is not None:
            raise RuntimeError("The broker was already started; create a new one to start again.")
        self._thread = threading.Thread(target=self._run, name="servicebus-broker", daemon=True)
        self._thread.start()
        if not self._listening.wait(_START_TIMEOUT) or self._port is None:
            self.stop()
            raise RuntimeError(
                f"The Service Bus sandbox could not listen on {self.host}:{self._requested_port} "
                f"({self._failure!r}); pick another port, or 0 for any free one."
            ) from self._failure
        return self

    def _run(self) -> None:
        try:
            Container(self._handler).run()
        except Exception as error:
            self._failure = error
            logger.exception("The Service Bus sandbox stopped on an error")
        finally:
            self._listening.set()

    def stop(self) -> None:
        """Close every connection and the listener, and wait for the reactor thread to end."""
        self._handler.stop_requested.set()
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT)
            if self._thread.is_alive():
                raise RuntimeError("The broker's reactor thread did not stop.")

    def __enter__(self) -> ServiceBusBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def queue(self, name: str) -> QueueView:
        queue = self._queues.get(name)
        if queue is None:
            raise KeyError(f"No queue named {name!r}; the broker has {sorted(self._queues)}.")
        return QueueView(queue, self._lock)
