"""Host-agnostic message shapes: what arrived (from the Functions binding or the SDK) and what to send next.

Both the Functions app and `ppmi worker` translate their native message type into `IncomingMessage`, let
`shared.messaging` decide, and send the resulting `OutgoingMessage`s; so the two hosts cannot drift apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# The app setting prefix of the identity-based connection (`ServiceBusConnection__fullyQualifiedNamespace`).
SERVICEBUS_CONNECTION = "ServiceBusConnection"

EVENTS_QUEUE = "ppmi-events"
WORK_QUEUE = "ppmi-work"
RESULTS_QUEUE = "ppmi-results"
KEPT_QUEUE = "ppmi-kept"

# Application properties ppmi sets on the messages it sends.
ATTEMPT = "ppmi-attempt"  # 1 for the first try; a scheduled copy carries the next number
REDRIVE = "ppmi-redrive"  # how many times an operator re-drove the message; part of every derived message ID
ORIGIN_ID = "ppmi-origin-id"  # the message ID as first published: the stem of every derived message ID
KEPT_REASON = "ppmi-kept-reason"
KEPT_CLASS = "ppmi-kept-class"  # "rejected" | "failed"
SOURCE_QUEUE = "ppmi-source-queue"
SESSION_ID = "ppmi-session-id"  # the session a kept message came from (ppmi-kept has no sessions)

CLOUDEVENTS_JSON = "application/cloudevents+json"

# Links ppmi opens are either busy (receivers poll, senders send) or short-lived: the SDK's keep-alive task
# only delays closing them (it sleeps in one-second steps and `close` waits for it), so it is switched off.
# The SDK forces it back on for receivers without prefetch; session receivers therefore prefetch, which is
# harmless there: the session lock, renewed while held, covers every message of the session.
NO_KEEP_ALIVE = 0

PropertyValue = str | int

# Service Bus caps a message ID (and a session ID) at 128 characters (Learn: ServiceBusMessage.MessageId,
# "Maximum length is 128 characters"; azure-servicebus `_common/constants.py` MESSAGE_PROPERTY_MAX_LENGTH).
MAX_MESSAGE_ID_LENGTH = 128
_DIGEST_LENGTH = 32  # hex characters of SHA-256 that stand for a derived ID's tail when it does not fit


@dataclass(frozen=True)
class IncomingMessage:
    """One delivered message, whatever received it."""

    queue: str
    body: bytes
    message_id: str
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    session_id: str | None = None
    reply_to_session_id: str | None = None
    correlation_id: str | None = None
    delivery_count: int = 1
    enqueued_time: datetime | None = None
    sequence_number: int | None = None  # the queue's order; a redelivered message keeps its number

    @property
    def attempt(self) -> int:
        return _positive_int(self.properties.get(ATTEMPT), default=1)

    @property
    def redrive(self) -> int:
        return _positive_int(self.properties.get(REDRIVE), default=0)

    @property
    def origin_id(self) -> str:
        origin = self.properties.get(ORIGIN_ID)
        return str(origin) if origin else self.message_id


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to send; deterministic `message_id`s let duplicate detection drop repeats."""

    queue: str
    body: bytes
    message_id: str
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    session_id: str | None = None
    reply_to_session_id: str | None = None
    correlation_id: str | None = None
    scheduled_enqueue_time: datetime | None = None
    content_type: str = CLOUDEVENTS_JSON
    subject: str | None = None


def derived_message_id(origin_id: str, *, redrive: int, attempt: int, suffix: str = "") -> str:
    """The ID of a message derived from `origin_id`: stable across redeliveries, new per attempt/re-drive.

    An ID that would pass the broker's limit (a 128-character event ID plus `~result`) keeps its beginning
    and ends in a digest of the whole: still deterministic, so duplicate detection still drops repeats.
    """
    stem = origin_id if redrive == 0 and attempt == 1 else f"{origin_id}~r{redrive}a{attempt}"
    message_id = f"{stem}{suffix}"
    if len(message_id) <= MAX_MESSAGE_ID_LENGTH:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:_DIGEST_LENGTH]
    return f"{message_id[: MAX_MESSAGE_ID_LENGTH - _DIGEST_LENGTH - 1]}~{digest}"


def normalise_properties(
    raw: Mapping[str, object] | Mapping[bytes, object] | Mapping[str | bytes, object] | None,
) -> dict[str, PropertyValue]:
    """Application properties as text keys and str/int values (AMQP hands keys and strings over as bytes)."""
    properties: dict[str, PropertyValue] = {}
    for key, value in (raw or {}).items():
        name = key.decode() if isinstance(key, bytes) else str(key)
        if isinstance(value, bytes):
            properties[name] = value.decode(errors="replace")
        elif isinstance(value, bool):
            properties[name] = str(value).lower()
        elif isinstance(value, int):
            properties[name] = value
        elif value is not None:
            properties[name] = str(value)
    return properties


def _positive_int(value: PropertyValue | None, *, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return max(number, default)
