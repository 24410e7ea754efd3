"""AMQP 1.0 message sections as the broker sees them: the bare message kept verbatim, the rest rewritten.

Service Bus rewrites the header (delivery count) and message annotations (sequence number, lock expiry)
on each delivery and adds dead-letter reasons to application properties; the rest travels byte for byte.
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from proton import Data, Described, symbol, timestamp, ubyte, uint, ulong

HEADER = 0x70
DELIVERY_ANNOTATIONS = 0x71
MESSAGE_ANNOTATIONS = 0x72
PROPERTIES = 0x73
APPLICATION_PROPERTIES = 0x74
DATA = 0x75
AMQP_VALUE = 0x77
FOOTER = 0x78

# Field positions inside the properties section (AMQP 1.0 §3.2.4).
_MESSAGE_ID, _SUBJECT, _CORRELATION_ID, _CONTENT_TYPE, _GROUP_ID, _REPLY_TO_GROUP_ID = 0, 3, 5, 6, 10, 12


class MessageFormatError(ValueError):
    """The peer sent bytes that are not an AMQP 1.0 message."""


@dataclass
class AmqpMessage:
    """One message split into its sections; `bare_tail` is the body and footer exactly as sent."""

    durable: bool = False
    priority: int | None = None
    ttl_ms: int | None = None
    annotations: dict[Any, Any] = field(default_factory=dict)
    properties: list[Any] = field(default_factory=list)
    properties_raw: bytes = b""
    application_properties: dict[str, Any] = field(default_factory=dict)
    bare_tail: bytes = b""
    body_codes: list[int] = field(default_factory=list)
    data_sections: list[bytes] = field(default_factory=list)

    def _property(self, index: int) -> str | None:
        value = self.properties[index] if len(self.properties) > index else None
        return None if value is None else str(value)

    @property
    def message_id(self) -> str | None:
        return self._property(_MESSAGE_ID)

    @property
    def session_id(self) -> str | None:
        return self._property(_GROUP_ID)

    @property
    def correlation_id(self) -> str | None:
        return self._property(_CORRELATION_ID)

    @property
    def subject(self) -> str | None:
        return self._property(_SUBJECT)

    @property
    def content_type(self) -> str | None:
        return self._property(_CONTENT_TYPE)

    @property
    def reply_to_session_id(self) -> str | None:
        return self._property(_REPLY_TO_GROUP_ID)

    @property
    def body(self) -> bytes:
        """The concatenated Data sections (how the SDK sends `str` and `bytes` bodies)."""
        return b"".join(self.data_sections)

    def annotation(self, name: str) -> Any:
        return self.annotations.get(symbol(name))


def _sections(encoded: bytes) -> list[tuple[int, Any, bytes]]:
    sections: list[tuple[int, Any, bytes]] = []
    view = memoryview(encoded)
    position = 0
    while position < len(view):
        data = Data()
        try:
            consumed = data.decode(bytes(view[position:]))
            data.rewind()
            data.next()
            value = data.get_object()
        except Exception as error:
            raise MessageFormatError(f"undecodable AMQP section at byte {position}") from error
        if not isinstance(value, Described) or consumed <= 0:
            raise MessageFormatError(f"expected a described section at byte {position}")
        raw = bytes(view[position : position + consumed])
        sections.append((int(cast(int, value.descriptor)), _plain(value.value), raw))
        position += consumed
    return sections


def decode_message(encoded: bytes) -> AmqpMessage:
    message = AmqpMessage()
    tail: list[bytes] = []
    for code, value, raw in _sections(encoded):
        if code == HEADER:
            fields = list(value or []) + [None] * 5
            message.durable = bool(fields[0])
            message.priority = None if fields[1] is None else int(fields[1])
            message.ttl_ms = None if fields[2] is None else int(fields[2])
        elif code == MESSAGE_ANNOTATIONS:
            message.annotations = dict(value or {})
        elif code == PROPERTIES:
            message.properties = list(value or [])
            message.properties_raw = raw
        elif code == APPLICATION_PROPERTIES:
            message.application_properties = {str(k): v for k, v in (value or {}).items()}
        elif code == DELIVERY_ANNOTATIONS:
            continue
        else:
            if code == DATA:
                message.data_sections.append(bytes(value))
            message.body_codes.append(code)
            tail.append(raw)
    message.bare_tail = b"".join(tail)
    return message


def split_batch(encoded: bytes) -> list[bytes] | None:
    """The inner messages of a batch envelope (format 0x80013700), or None for an ordinary message.

    proton does not expose a transfer's message-format, so a batch is recognised by its shape: every Data
    section holds a complete encoded message. An application body that is itself an encoded AMQP message
    would be mistaken for a batch; Service Bus clients never send one.
    """
    envelope = decode_message(encoded)
    if not envelope.data_sections or any(code != DATA for code in envelope.body_codes):
        return None
    for section in envelope.data_sections:
        try:
            inner = _sections(section)
        except MessageFormatError:
            return None
        if not inner or not all(HEADER <= code <= FOOTER for code, _, _ in inner):
            return None
    return list(envelope.data_sections)


def _plain(value: Any) -> Any:
    """Copy binaries out of proton's buffers (decoded as views that die with the decoder)."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Described):
        return Described(value.descriptor, _plain(value.value))
    return value


def _section(code: int, value: Any) -> bytes:
    data = Data()
    data.put_object(Described(ulong(code), value))
    return bytes(data.encode())


def encode_for_delivery(
    message: AmqpMessage,
    *,
    delivery_count: int,
    extra_annotations: dict[str, Any],
    extra_application_properties: dict[str, Any] | None = None,
) -> bytes:
    """The message as a receiver gets it: fresh header and annotations, the bare message as sent."""
    header: list[Any] = [message.durable, None if message.priority is None else ubyte(message.priority)]
    header += [None if message.ttl_ms is None else uint(message.ttl_ms), None, uint(delivery_count)]
    annotations = dict(message.annotations)
    annotations.update({symbol(name): value for name, value in extra_annotations.items()})
    parts = [_section(HEADER, header), _section(MESSAGE_ANNOTATIONS, annotations), message.properties_raw]
    application_properties = dict(message.application_properties)
    application_properties.update(extra_application_properties or {})
    if application_properties:
        parts.append(_section(APPLICATION_PROPERTIES, application_properties))
    parts.append(message.bare_tail)
    return b"".join(parts)


def encode_value_message(
    body: Any, *, correlation_id: Any = None, application_properties: dict[str, Any] | None = None
) -> bytes:
    """A management or CBS reply: properties (correlation id), application properties, one amqp-value body."""
    properties = [None, None, None, None, None, correlation_id]
    parts = [_section(PROPERTIES, properties)]
    if application_properties:
        parts.append(_section(APPLICATION_PROPERTIES, application_properties))
    parts.append(_section(AMQP_VALUE, body))
    return b"".join(parts)


@dataclass(frozen=True)
class ValueMessage:
    """A request on a management node: its id (the reply's correlation id) and what was asked."""

    message_id: Any
    application_properties: dict[str, Any]
    body: Any


def decode_value_message(encoded: bytes) -> ValueMessage:
    message_id: Any = None
    application_properties: dict[str, Any] = {}
    body: Any = None
    for code, value, _ in _sections(encoded):
        if code == PROPERTIES:
            message_id = [*list(value or []), None][_MESSAGE_ID]
        elif code == APPLICATION_PROPERTIES:
            application_properties = {str(k): v for k, v in (value or {}).items()}
        elif code == AMQP_VALUE:
            body = value
    return ValueMessage(message_id, application_properties, body)


def to_timestamp(moment: float) -> timestamp:
    """Epoch seconds as an AMQP timestamp (milliseconds)."""
    return timestamp(int(moment * 1000))


def to_dotnet_ticks(moment: float) -> int:
    """Epoch seconds as .NET `DateTime` ticks, the unit of `com.microsoft:locked-until-utc`."""
    return 621355968000000000 + int(moment * 10_000_000)


def from_timestamp(value: Any) -> float:
    """An AMQP timestamp (or a datetime) as epoch seconds."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return int(value) / 1000


def as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
