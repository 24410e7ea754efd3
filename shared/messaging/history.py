"""The last outcome ppmi recorded for each environment, read (peeked, never settled) from its queues.

Two places hold outcomes: the `ppmi-results` session that events without a reply session answer on (the
timers' hourly reconcile and discovery among them, `PPMI_DEFAULT_REPLY_SESSION`), and `ppmi-kept`, which
holds every event ppmi gave up on, whoever sent it. Results sent to a caller's own reply session (`ppmi
publish --wait`) are that caller's and are not looked at; `ppmi apply` and `ppmi upgrade` send none.

The results session is read newest first: its last sequence number is found by peeking (galloping, then
halving), then windows before it are peeked until every environment asked about has an outcome.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver

from shared.events import EventValidationError, parse_result
from shared.messaging.envelope import KEPT_CLASS, KEPT_QUEUE, KEPT_REASON, NO_KEEP_ALIVE, RESULTS_QUEUE
from shared.messaging.outbox import from_sdk_message

_PAGE = 100
_FIRST_WINDOW = 1024  # sequence numbers; doubled while environments are still without an outcome


@dataclass(frozen=True)
class LastOutcome:
    """What happened to an environment's latest event ppmi recorded an outcome for, and where it was read."""

    outcome: str  # succeeded | failed | rejected
    event_type: str | None
    event_id: str | None
    reason: str | None
    time: datetime | None
    source: str  # "ppmi-results/<session>" or "ppmi-kept"

    def newer_than(self, other: LastOutcome | None) -> bool:
        if other is None:
            return True
        if self.time is None or other.time is None:
            return other.time is None
        return self.time > other.time


async def last_outcomes(
    client: ServiceBusClient, *, default_session: str, environments: Collection[str]
) -> dict[str, LastOutcome]:
    """The newest outcome per environment (lower-case IDs) among `environments`, from both places."""
    wanted = {environment.lower() for environment in environments}
    found = await _from_results(client, default_session, wanted)
    for environment, kept in (await _from_kept(client, wanted)).items():
        if kept.newer_than(found.get(environment)):
            found[environment] = kept
    return found


async def _from_results(client: ServiceBusClient, session: str, wanted: set[str]) -> dict[str, LastOutcome]:
    found: dict[str, LastOutcome] = {}
    async with client.get_queue_receiver(
        RESULTS_QUEUE, session_id=session, keep_alive=NO_KEEP_ALIVE
    ) as receiver:
        first = await _at_or_after(receiver, 0)
        if first is None:
            return found
        last = await _last_sequence(receiver, first)
        end, window = last + 1, _FIRST_WINDOW
        while wanted - found.keys() and end > first:
            start = max(first, end - window)
            for message in reversed(await _between(receiver, start, end)):
                outcome = _result_outcome(message, session)
                if outcome is not None and outcome[0] in wanted:
                    found.setdefault(outcome[0], outcome[1])
            end, window = start, window * 2
    return found


async def _at_or_after(receiver: ServiceBusReceiver, sequence_number: int) -> int | None:
    page = await receiver.peek_messages(max_message_count=1, sequence_number=sequence_number)
    return page[0].sequence_number if page else None


async def _last_sequence(receiver: ServiceBusReceiver, first: int) -> int:
    """The session's highest sequence number: gallop past it, then halve the gap (a peek per step)."""
    known, step = first, 1
    while (beyond := await _at_or_after(receiver, known + step)) is not None:
        known, step = beyond, step * 2
    high = known + step  # nothing at or after this
    while high - known > 1:
        middle = (known + high) // 2
        if (at := await _at_or_after(receiver, middle)) is not None:
            known = at
        else:
            high = middle
    return known


async def _between(receiver: ServiceBusReceiver, start: int, end: int) -> list[ServiceBusReceivedMessage]:
    messages: list[ServiceBusReceivedMessage] = []
    next_sequence = start
    while next_sequence < end:
        page = await receiver.peek_messages(max_message_count=_PAGE, sequence_number=next_sequence)
        inside = [m for m in page if (m.sequence_number or 0) < end]
        messages.extend(inside)
        if len(inside) < len(page) or not page:
            break
        next_sequence = max(m.sequence_number or 0 for m in page) + 1
    return messages


def _result_outcome(message: ServiceBusReceivedMessage, session: str) -> tuple[str, LastOutcome] | None:
    try:
        result = parse_result(b"".join(message.body))
    except EventValidationError:
        return None
    data = result.data
    if not data.environment_id:
        return None
    outcome = LastOutcome(
        outcome=data.outcome,
        event_type=data.event_type,
        event_id=data.event_id,
        reason=data.reason,
        time=result.time or message.enqueued_time_utc,
        source=f"{RESULTS_QUEUE}/{session}",
    )
    return data.environment_id.lower(), outcome


async def _from_kept(client: ServiceBusClient, wanted: set[str]) -> dict[str, LastOutcome]:
    found: dict[str, LastOutcome] = {}
    async with client.get_queue_receiver(KEPT_QUEUE, keep_alive=NO_KEEP_ALIVE) as receiver:
        next_sequence = 0
        while page := await receiver.peek_messages(max_message_count=_PAGE, sequence_number=next_sequence):
            next_sequence = max(m.sequence_number or 0 for m in page) + 1
            for message in page:
                kept = _kept_outcome(message)
                if kept is not None and kept[0] in wanted and kept[1].newer_than(found.get(kept[0])):
                    found[kept[0]] = kept[1]
    return found


def _kept_outcome(message: ServiceBusReceivedMessage) -> tuple[str, LastOutcome] | None:
    try:
        document = json.loads(b"".join(message.body))
        data = document.get("data") or {}
        environment = str(data.get("environmentId") or "")
    except (ValueError, AttributeError, TypeError):
        return None
    if not environment:
        return None
    properties = from_sdk_message(message, KEPT_QUEUE).properties
    reason = properties.get(KEPT_REASON)
    return environment.lower(), LastOutcome(
        outcome=str(properties.get(KEPT_CLASS, "failed")),
        event_type=str(document.get("type")) if document.get("type") else None,
        event_id=str(document.get("id")) if document.get("id") else None,
        reason=str(reason) if reason else None,
        time=message.enqueued_time_utc,
        source=KEPT_QUEUE,
    )
