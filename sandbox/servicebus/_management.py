"""The `$management` node of a queue: request/response operations the SDK sends as AMQP messages.

Each operation takes the request's application properties and map body and answers with a status code, as
Service Bus does (200 ok, 204 nothing to return, 400 bad request, 410 lock lost, 501 not supported).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, cast

from proton import UNDESCRIBED, Array, Data, symbol

from sandbox.servicebus._codec import (
    AmqpMessage,
    ValueMessage,
    as_uuid,
    decode_message,
    from_timestamp,
    to_timestamp,
)
from sandbox.servicebus._queue import MessageLockLostError, Outcome, Queue
from sandbox.servicebus._sessions import SessionLockLostError

VENDOR = "com.microsoft"


@dataclass(frozen=True)
class ManagementReply:
    status: int
    description: str = "OK"
    body: Any = None
    condition: str | None = None


class _BadRequestError(Exception):
    """A management request the broker refuses with status 400 and this message."""


_DISPOSITIONS = {
    "completed": Outcome.COMPLETE,
    "abandoned": Outcome.ABANDON,
    "suspended": Outcome.DEAD_LETTER,
    "defered": Outcome.DEFER,
}


@dataclass
class ManagementRequest:
    queue: Queue
    body: dict[str, Any]
    owner: Hashable
    now: float

    def field(self, name: str) -> Any:
        if name not in self.body:
            raise _BadRequestError(f"the request body lacks '{name}'")
        return self.body[name]


def handle_management_request(
    queue: Queue, request: ValueMessage, owner: Hashable, now: float
) -> ManagementReply:
    """Run one operation against `queue`; `owner` is the receiver link the request is associated with."""
    operation = str(request.application_properties.get("operation", ""))
    handler = _OPERATIONS.get(operation.removeprefix(f"{VENDOR}:"))
    if handler is None:
        return ManagementReply(
            501, f"The operation '{operation}' is not supported.", None, f"{VENDOR}:not-supported"
        )
    body = {str(key): value for key, value in dict(request.body or {}).items()}
    try:
        return handler(ManagementRequest(queue, body, owner, now))
    except _BadRequestError as error:
        return ManagementReply(400, str(error), None, f"{VENDOR}:argument-error")
    except MessageLockLostError:
        return ManagementReply(
            410, "The lock supplied is invalid or has expired.", None, f"{VENDOR}:message-lock-lost"
        )
    except SessionLockLostError:
        return ManagementReply(
            410, "The session lock has expired or was lost.", None, f"{VENDOR}:session-lock-lost"
        )


def _array(kind: int, values: list[Any]) -> Array:
    return Array(cast(Any, UNDESCRIBED), kind, *values)


def _renew_lock(request: ManagementRequest) -> ManagementReply:
    tokens = [as_uuid(token) for token in request.field("lock-tokens")]
    expirations = [to_timestamp(request.queue.renew_lock(token, request.now)) for token in tokens]
    return ManagementReply(200, body={symbol("expirations"): _array(Data.TIMESTAMP, expirations)})


def _renew_session_lock(request: ManagementRequest) -> ManagementReply:
    session_id = str(request.field("session-id"))
    until = request.queue.sessions.renew(session_id, request.owner, request.now)
    return ManagementReply(200, body={symbol("expiration"): to_timestamp(until)})


def _get_session_state(request: ManagementRequest) -> ManagementReply:
    session_id = str(request.field("session-id"))
    state = request.queue.sessions.get_state(session_id, request.owner, request.now)
    return ManagementReply(200, body={symbol("session-state"): state})


def _set_session_state(request: ManagementRequest) -> ManagementReply:
    session_id = str(request.field("session-id"))
    state = request.body.get("session-state")
    request.queue.sessions.set_state(
        session_id, request.owner, request.now, None if state is None else bytes(state)
    )
    return ManagementReply(200)


def _peek(request: ManagementRequest) -> ManagementReply:
    session_id = request.body.get("session-id")
    found = request.queue.peek(
        int(request.field("from-sequence-number")),
        int(request.field("message-count")),
        None if session_id is None else str(session_id),
    )
    if not found:
        return ManagementReply(204, "No messages to peek.")
    return ManagementReply(200, body={symbol("messages"): [{symbol("message"): m.encode()} for m in found]})


def _schedule(request: ManagementRequest) -> ManagementReply:
    numbers: list[int] = []
    for entry in request.field("messages"):
        amqp: AmqpMessage = decode_message(bytes(entry["message"]))
        when = amqp.annotation("x-opt-scheduled-enqueue-time")
        if when is None:
            raise _BadRequestError("a scheduled message lacks x-opt-scheduled-enqueue-time")
        number = request.queue.accept(amqp, request.now, scheduled_time=from_timestamp(when))
        numbers.append(-1 if number is None else number)
    return ManagementReply(200, body={symbol("sequence-numbers"): _array(Data.LONG, numbers)})


def _cancel_scheduled(request: ManagementRequest) -> ManagementReply:
    for number in request.field("sequence-numbers"):
        request.queue.cancel_scheduled(int(number))
    return ManagementReply(200)


def _receive_deferred(request: ManagementRequest) -> ManagementReply:
    messages = []
    for number in request.field("sequence-numbers"):
        try:
            message = request.queue.acquire_by_sequence_number(int(number), request.now, request.owner)
        except KeyError:
            return ManagementReply(
                404, f"Message {number} was not found.", None, f"{VENDOR}:message-not-found"
            )
        messages.append({symbol("lock-token"): message.lock_token, symbol("message"): message.encode()})
    return ManagementReply(200, body={symbol("messages"): messages})


def _update_disposition(request: ManagementRequest) -> ManagementReply:
    outcome = _DISPOSITIONS.get(str(request.field("disposition-status")))
    if outcome is None:
        raise _BadRequestError(f"unknown disposition-status {request.body['disposition-status']!r}")
    reason = request.body.get("deadletter-reason")
    description = request.body.get("deadletter-description")
    for token in request.field("lock-tokens"):
        request.queue.settle(
            as_uuid(token),
            outcome,
            request.now,
            reason=None if reason is None else str(reason),
            description=None if description is None else str(description),
        )
    return ManagementReply(200)


_OPERATIONS: dict[str, Callable[[ManagementRequest], ManagementReply]] = {
    "renew-lock": _renew_lock,
    "renew-session-lock": _renew_session_lock,
    "get-session-state": _get_session_state,
    "set-session-state": _set_session_state,
    "peek-message": _peek,
    "schedule-message": _schedule,
    "cancel-scheduled-message": _cancel_scheduled,
    "receive-by-sequence-number": _receive_deferred,
    "update-disposition": _update_disposition,
}
