"""The pieces of AMQP link handling shared by the event handler and the outflow to receivers."""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, cast

from proton import Condition, Data, Link, symbol

from sandbox.servicebus._codec import to_dotnet_ticks
from sandbox.servicebus._queue import Queue

SESSION_FILTER = symbol("com.microsoft:session-filter")


class RefusedError(Exception):
    """A request the broker turns down with an AMQP error, as Service Bus would."""

    def __init__(self, condition: str, description: str) -> None:
        super().__init__(description)
        self.condition = amqp_error(condition, description)


@dataclass(eq=False)
class ReceiveLink:
    """A link on which the broker hands messages to a client receiver."""

    link: Link
    queue: Queue
    owner: Hashable
    delete_on_send: bool
    session_id: str | None = None


@dataclass(eq=False)
class PendingSession:
    """A receiver waiting for any session to become free (`NEXT_AVAILABLE_SESSION`)."""

    link: Link
    queue: Queue
    owner: Hashable
    delete_on_send: bool
    deadline: float


def amqp_error(condition: str, description: str) -> Condition:
    """An AMQP error as Service Bus sends it, with a tracking id in `info` (the SDK reads all fields)."""
    return Condition(condition, description, {symbol("com.microsoft:tracking-id"): str(uuid.uuid4())})


def present[T](value: T | None) -> T:
    """The endpoint an event is about; proton's types allow None where the event kind rules it out."""
    if value is None:
        raise RuntimeError("proton delivered an event without the endpoint it concerns")
    return value


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def delivery_tag(raw: bytes) -> str:
    """proton sends a bytes tag as is; its annotations only admit str (which it would UTF-8 encode)."""
    return cast(str, raw)


def terminus_object(data: Data) -> Any:
    data.rewind()
    return data.get_object() if data.next() else None


def describe_session(link: Link, session_id: str, locked_until: float | None) -> None:
    """Echo the session filter and lock expiry on our attach, where the SDK reads them."""
    link.source.filter.clear()
    link.source.filter.put_object({SESSION_FILTER: session_id})
    ticks = 0 if locked_until is None else to_dotnet_ticks(locked_until)
    link.properties = {symbol("com.microsoft:locked-until-utc"): ticks}
