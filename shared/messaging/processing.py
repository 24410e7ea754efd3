"""Turn one delivered message into a `Disposition`, classifying failures as docs/architecture.md says.

Unexpected exceptions (bugs, a broken connection) propagate: the host abandons the message, redelivers it, and
dead-letters it after the queue's max delivery count; `ppmi requeue` re-drives it from there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
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
from shared.messaging.sessions import NotHandledError
from shared.policy import Policy
from shared.telemetry import message_scope, record_event, record_kept_message

Decide = Callable[[IncomingMessage, Event], Awaitable[Disposition]]


async def route_event(
    message: IncomingMessage, runtime: Runtime, settings: MessagingSettings, now: datetime
) -> Disposition:
    """Validate and enrich an intake event, then forward it to the work queue under its identity's session."""

    async def decide(message: IncomingMessage, event: Event) -> Disposition:
        enrichment = await enrich(event, runtime)
        session = work_session(enrichment.environment_id, enrichment.identity_key, runtime.policy)
        return forward_to_work(message, event, session)

    return await _handle(message, settings, now, decide)


def work_session(environment_id: str, key: str, policy: Policy) -> str:
    """The `ppmi-work` session an event is worked in, given its identity key `key` (what its writes are
    serialised on): all the events whose writes count against one limit, so that one process at a time works
    them and paces them.

    A pool's or an application's identity key as it is; for an environment's dedicated identity, the
    subscription it lives in: the managed identity provider counts those writes per subscription (2/s), so
    processes working them side by side would only bounce off that limit (docs/decisions.md). Inside the
    session, environments run side by side, each environment's events in order, and writes to one identity
    one at a time.
    """
    if policy.identity.strategy == "per-environment" and key == identity_key(environment_id, policy):
        return f"subscription-{policy.identity.subscription_id}".lower()
    return key


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


BATCH_CONCURRENCY = 32  # environments of one batch converged side by side (a pool's batch spans many)


async def provision_batch(
    messages: Sequence[IncomingMessage],
    runtime: Runtime,
    settings: MessagingSettings,
    now: datetime,
    *,
    decided: Callable[[Disposition], Awaitable[None]] | None = None,
) -> list[Disposition | BaseException]:
    """`provision` for the messages of one session held together, in the order given.

    What the Functions batch trigger (cardinality many) would hand the app; `ppmi worker --whole-batches`
    reproduces that host to measure it.

    They share one held view of ARM (`Runtime.held`), so each identity, identity list and FIC list is read
    once per batch, not once per event. One environment's events run in order; different environments'
    (a pool's batch) side by side. An unexpected exception is returned in place of that message's
    disposition, so the caller abandons that message only; the environment's later events in the batch
    are not handled (`NotHandledError`), so they are abandoned too and come back after it, in order.
    `decided` (sending a disposition's messages) runs as each message is decided, so an early event's
    answer does not wait for the whole batch.
    """
    held = runtime.held()
    results: dict[int, Disposition | BaseException] = {}
    gate = asyncio.Semaphore(BATCH_CONCURRENCY)

    async def run(group: list[int]) -> None:
        async with gate:
            for position, index in enumerate(group):
                try:
                    disposition = await provision(messages[index], held, settings, now)
                    if decided is not None:
                        await decided(disposition)
                    results[index] = disposition
                except Exception as error:  # handed back: the host abandons this message only
                    results[index] = error
                    for later in group[position + 1 :]:  # kept in order: they come back after it
                        results[later] = NotHandledError(
                            f"not handled: an earlier event of its environment failed ({error})"
                        )
                    return

    await asyncio.gather(*(run(group) for group in _by_environment(messages)))
    return [results[index] for index in range(len(messages))]


def order_key(message: IncomingMessage) -> str:
    """Which messages must be handled in order: one environment's events (an unreadable one stands alone).

    Only the ordering depends on it, so it reads the environment ID without validating the event (and its
    certificate): `_handle` does that once, when the message is handled, and keeps what is unreadable.
    """
    try:
        data = json.loads(message.body)["data"]
        environment_id = data["environmentId"]
    except (ValueError, KeyError, TypeError):
        return f"unreadable:{message.message_id}"
    if not isinstance(environment_id, str):
        return f"unreadable:{message.message_id}"
    return environment_id.lower()


def _by_environment(messages: Sequence[IncomingMessage]) -> list[list[int]]:
    """Indexes of the messages per environment, in order."""
    if len(messages) == 1:
        return [[0]]
    groups: dict[str, list[int]] = {}
    for index, message in enumerate(messages):
        groups.setdefault(order_key(message), []).append(index)
    return list(groups.values())


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
