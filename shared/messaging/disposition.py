"""Decide what follows one message: forward it, answer it, schedule another attempt, or keep it.

Pure functions: each returns a `Disposition` (messages to send, then complete the original). Sending
everything before completing, with deterministic message IDs, makes a crash at any point safe to redeliver.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.events import Event, EventValidationError, ResultEvent, StepResult, rejected_result, result_for
from shared.events import Outcome as ResultOutcome
from shared.messaging.config import MessagingSettings
from shared.messaging.envelope import (
    ATTEMPT,
    KEPT_CLASS,
    KEPT_QUEUE,
    KEPT_REASON,
    ORIGIN_ID,
    REDRIVE,
    RESULTS_QUEUE,
    SESSION_ID,
    SOURCE_QUEUE,
    WORK_QUEUE,
    IncomingMessage,
    OutgoingMessage,
    PropertyValue,
    derived_message_id,
)
from shared.telemetry import redact

# Service Bus limits application property values; a kept reason longer than this is cut.
MAX_REASON_LENGTH = 1024


class Outcome(enum.StrEnum):
    """What became of one message, as logged and counted."""

    FORWARDED = "forwarded"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    RETRY_SCHEDULED = "rescheduled"


@dataclass(frozen=True)
class Disposition:
    """Send `messages` (in order), then complete the original."""

    outcome: Outcome
    reason: str
    messages: tuple[OutgoingMessage, ...]


def forward_to_work(message: IncomingMessage, event: Event, identity_key: str) -> Disposition:
    """Hand a validated event to the work queue, on the session that serialises its identity."""
    forwarded = OutgoingMessage(
        queue=WORK_QUEUE,
        body=message.body,
        message_id=derived_message_id(message.origin_id, redrive=message.redrive, attempt=1),
        properties=_lineage(message, attempt=1),
        session_id=identity_key,
        reply_to_session_id=message.reply_to_session_id,
        correlation_id=event.id,
        subject=event.type,
    )
    return Disposition(
        Outcome.FORWARDED, f"forwarded to {WORK_QUEUE} on session {identity_key}", (forwarded,)
    )


def answer(
    message: IncomingMessage,
    *,
    event: Event,
    outcome: Outcome,
    reason: str | None,
    steps: Sequence[StepResult],
    settings: MessagingSettings,
) -> Disposition:
    """The final word on an event: a result on the caller's reply session, and for failures the kept copy.

    The reply session is the message's `ReplyToSessionId`, else the event's `replysession` attribute, else the
    configured default session (`PPMI_DEFAULT_REPLY_SESSION`, `ppmi-default`).
    """
    # Reasons quote services and senders; results and kept messages leave the service.
    reason = redact(reason) if reason else None
    messages = [_result(message, event=event, outcome=outcome, reason=reason, steps=steps, settings=settings)]
    if outcome in (Outcome.FAILED, Outcome.REJECTED):
        messages.insert(0, _kept(message, outcome, reason or outcome.value))
    return Disposition(outcome, reason or f"{len(steps)} steps", tuple(messages))


def keep_unreadable(
    message: IncomingMessage, error: EventValidationError, settings: MessagingSettings
) -> Disposition:
    """A message that is not a valid event: keep it, and answer with whatever correlation could be read."""
    safe = EventValidationError(redact(error.reason), error.field)
    located = error.field not in ("", "$") and not error.reason.startswith(error.field)
    where = f" (at {error.field})" if located else ""
    reason = f"{safe.reason}{where}"
    result = rejected_result(message.body, safe)
    return Disposition(
        Outcome.REJECTED,
        reason,
        (
            _kept(message, Outcome.REJECTED, reason),
            _result_message(message, result, result.data.event_id, result.reply_session, settings),
        ),
    )


def retry_later(
    message: IncomingMessage,
    *,
    event: Event,
    reason: str,
    retry_after: float,
    settings: MessagingSettings,
    now: datetime,
) -> Disposition:
    """A transient failure outlived the in-process retries: schedule the next attempt, or give up."""
    attempt = message.attempt
    if attempt >= settings.max_attempts:
        final = f"gave up after {attempt} attempts: {reason}"
        return answer(message, event=event, outcome=Outcome.FAILED, reason=final, steps=(), settings=settings)
    delay = settings.retry_delay(attempt, retry_after)
    copy = OutgoingMessage(
        queue=message.queue,
        body=message.body,
        message_id=derived_message_id(message.origin_id, redrive=message.redrive, attempt=attempt + 1),
        properties=_lineage(message, attempt=attempt + 1),
        session_id=message.session_id,
        reply_to_session_id=message.reply_to_session_id,
        correlation_id=message.correlation_id,
        scheduled_enqueue_time=now + delay,
        subject=event.type,
    )
    return Disposition(
        Outcome.RETRY_SCHEDULED,
        f"attempt {attempt + 1} of {settings.max_attempts} in {delay.total_seconds():.0f}s: {reason}",
        (copy,),
    )


def _lineage(message: IncomingMessage, *, attempt: int) -> dict[str, PropertyValue]:
    properties = dict(message.properties)
    properties.update({ORIGIN_ID: message.origin_id, REDRIVE: message.redrive, ATTEMPT: attempt})
    return properties


def _kept(message: IncomingMessage, outcome: Outcome, reason: str) -> OutgoingMessage:
    properties = _lineage(message, attempt=message.attempt)
    properties.update(
        {
            KEPT_REASON: reason[:MAX_REASON_LENGTH],
            KEPT_CLASS: outcome.value,
            SOURCE_QUEUE: message.queue,
        }
    )
    if message.session_id is not None:
        properties[SESSION_ID] = message.session_id
    return OutgoingMessage(
        queue=KEPT_QUEUE,
        body=message.body,
        message_id=derived_message_id(message.origin_id, redrive=message.redrive, attempt=1, suffix="~kept"),
        properties=properties,
        reply_to_session_id=message.reply_to_session_id,
        correlation_id=message.correlation_id,
    )


def _result(
    message: IncomingMessage,
    *,
    event: Event,
    outcome: Outcome,
    reason: str | None,
    steps: Sequence[StepResult],
    settings: MessagingSettings,
) -> OutgoingMessage:
    result = result_for(event, _RESULT_OUTCOMES[outcome], reason, list(steps))
    return _result_message(message, result, event.id, event.reply_session, settings)


_RESULT_OUTCOMES: dict[Outcome, ResultOutcome] = {
    Outcome.SUCCEEDED: "succeeded",
    Outcome.FAILED: "failed",
    Outcome.REJECTED: "rejected",
}


def _result_message(
    message: IncomingMessage,
    result: ResultEvent,
    event_id: str | None,
    reply_session: str | None,
    settings: MessagingSettings,
) -> OutgoingMessage:
    return OutgoingMessage(
        queue=RESULTS_QUEUE,
        body=result.to_json(),
        message_id=derived_message_id(
            message.origin_id, redrive=message.redrive, attempt=1, suffix="~result"
        ),
        properties={ORIGIN_ID: message.origin_id, REDRIVE: message.redrive},
        session_id=message.reply_to_session_id or reply_session or settings.default_reply_session,
        correlation_id=event_id,
        subject=result.type,
    )
