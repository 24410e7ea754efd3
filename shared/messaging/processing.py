"""Turn one delivered message into a `Disposition`, classifying failures as docs/architecture.md says.

Unexpected exceptions (bugs, a broken connection) propagate: the host abandons the message, redelivers it, and
dead-letters it after the queue's max delivery count; `ppmi requeue` re-drives it from there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from shared.engine import Runtime, enrich, identity_key, process
from shared.errors import InvalidInputError, PermanentError, TransientError
from shared.events import Event, EventValidationError, parse_event
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import (
    Disposition,
    Outcome,
    answer,
    forward_to_work,
    keep_unreadable,
    retry_later,
)
from shared.messaging.envelope import IncomingMessage
from shared.telemetry import message_scope, record_event, record_kept_message

Decide = Callable[[IncomingMessage, Event], Awaitable[Disposition]]


async def route_event(
    message: IncomingMessage, runtime: Runtime, settings: MessagingSettings, now: datetime
) -> Disposition:
    """Validate and enrich an intake event, then forward it to the work queue under its identity's session."""

    async def decide(message: IncomingMessage, event: Event) -> Disposition:
        await enrich(event, runtime)
        return forward_to_work(message, event, identity_key(event.data.environment_id, runtime.policy))

    return await _handle(message, settings, now, decide)


async def provision(
    message: IncomingMessage, runtime: Runtime, settings: MessagingSettings, now: datetime
) -> Disposition:
    """Converge one event's desired state; answer with the report, or schedule another attempt."""

    async def decide(message: IncomingMessage, event: Event) -> Disposition:
        report = await process(event, runtime)
        return answer(
            message,
            event=event,
            outcome=Outcome(report.outcome),
            reason=report.reason,
            steps=report.steps,
            settings=settings,
        )

    return await _handle(message, settings, now, decide)


async def _handle(
    message: IncomingMessage, settings: MessagingSettings, now: datetime, decide: Decide
) -> Disposition:
    try:
        event = parse_event(message.body)
    except EventValidationError as error:
        record_event("unreadable", Outcome.REJECTED.value)
        record_kept_message(Outcome.REJECTED.value)
        return keep_unreadable(message, error, settings)
    with message_scope(
        event_id=event.id,
        event_type=event.type,
        environment_id=event.data.environment_id,
        identity_key=message.session_id,
        attempt=message.attempt,
        queue=message.queue,
        enqueued_time=message.enqueued_time,
        message_id=message.message_id,
    ) as scope:
        disposition = await _classified(message, event, settings, now, decide)
        scope.set_outcome(disposition.outcome.value, disposition.reason)
        if disposition.outcome in (Outcome.FAILED, Outcome.REJECTED):
            record_kept_message(disposition.outcome.value)
        return disposition


async def _classified(
    message: IncomingMessage, event: Event, settings: MessagingSettings, now: datetime, decide: Decide
) -> Disposition:
    try:
        return await decide(message, event)
    except InvalidInputError as error:
        return answer(
            message, event=event, outcome=Outcome.REJECTED, reason=error.reason, steps=(), settings=settings
        )
    except TransientError as error:
        return retry_later(
            message, event=event, reason=str(error), retry_after=error.retry_after, settings=settings, now=now
        )
    except PermanentError as error:
        return answer(
            message, event=event, outcome=Outcome.FAILED, reason=str(error), steps=(), settings=settings
        )
