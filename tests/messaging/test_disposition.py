"""What follows one message: forward, answer, schedule another attempt, keep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shared.events import Event, EventValidationError, new_event, parse_event, parse_result
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import Outcome, answer, forward_to_work, keep_unreadable, retry_later
from shared.messaging.envelope import (
    ATTEMPT,
    EVENTS_QUEUE,
    KEPT_CLASS,
    KEPT_QUEUE,
    KEPT_REASON,
    REDRIVE,
    RESULTS_QUEUE,
    SESSION_ID,
    SOURCE_QUEUE,
    WORK_QUEUE,
    IncomingMessage,
)

ENVIRONMENT = "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SETTINGS = MessagingSettings(max_attempts=3, retry_base_seconds=30, retry_max_seconds=100)


def created(reply_session: str | None = None) -> Event:
    return new_event(
        "ppmi.environment.created",
        {"environmentId": ENVIRONMENT},
        source="/tests",
        reply_session=reply_session,
    )


def delivered(
    event: Event, queue: str = WORK_QUEUE, properties: dict[str, str | int] | None = None
) -> IncomingMessage:
    return IncomingMessage(
        queue=queue,
        body=event.to_json(),
        message_id=event.id,
        properties=properties or {},
        session_id=ENVIRONMENT if queue == WORK_QUEUE else None,
    )


def test_a_valid_event_is_forwarded_unchanged_on_its_identity_session() -> None:
    event = created()
    disposition = forward_to_work(delivered(event, EVENTS_QUEUE), event, "identity-a")

    (forwarded,) = disposition.messages
    assert forwarded.queue == WORK_QUEUE
    assert forwarded.session_id == "identity-a"
    assert forwarded.message_id == event.id
    assert parse_event(forwarded.body) == event
    assert forwarded.properties[ATTEMPT] == 1


def test_a_transient_failure_schedules_the_next_attempt_on_the_same_session() -> None:
    event = created()
    disposition = retry_later(
        delivered(event), event=event, reason="ARM answered 429", retry_after=0.0, settings=SETTINGS, now=NOW
    )

    (copy,) = disposition.messages
    assert disposition.outcome is Outcome.RETRY_SCHEDULED
    assert copy.queue == WORK_QUEUE
    assert copy.session_id == ENVIRONMENT
    assert copy.properties[ATTEMPT] == 2
    assert copy.scheduled_enqueue_time == NOW + timedelta(seconds=30)
    assert copy.message_id != event.id


def test_the_delay_doubles_is_capped_and_never_undercuts_retry_after() -> None:
    assert SETTINGS.retry_delay(1, 0) == timedelta(seconds=30)
    assert SETTINGS.retry_delay(2, 0) == timedelta(seconds=60)
    assert SETTINGS.retry_delay(5, 0) == timedelta(seconds=100)
    assert SETTINGS.retry_delay(1, 250) == timedelta(seconds=250)


def test_past_the_attempt_limit_the_event_is_kept_as_failed_and_answered() -> None:
    event = created()
    disposition = retry_later(
        delivered(event, properties={ATTEMPT: 3}),
        event=event,
        reason="ARM answered 503",
        retry_after=0.0,
        settings=SETTINGS,
        now=NOW,
    )

    kept, result = disposition.messages
    assert disposition.outcome is Outcome.FAILED
    assert kept.queue == KEPT_QUEUE
    assert kept.properties[KEPT_CLASS] == "failed"
    assert kept.properties[SOURCE_QUEUE] == WORK_QUEUE
    assert kept.properties[SESSION_ID] == ENVIRONMENT
    assert "after 3 attempts" in str(kept.properties[KEPT_REASON])
    assert kept.body == event.to_json()
    assert result.queue == RESULTS_QUEUE
    assert result.correlation_id == event.id
    assert parse_result(result.body).data.outcome == "failed"


def test_an_invalid_event_is_kept_as_rejected_and_answered_with_what_could_be_read() -> None:
    body = json.dumps(
        {"specversion": "1.0", "id": "evt-1", "type": "ppmi.nope", "replysession": "pipeline-7"}
    )
    message = IncomingMessage(queue=EVENTS_QUEUE, body=body.encode(), message_id="evt-1")
    disposition = keep_unreadable(message, EventValidationError("unknown event type", field="type"), SETTINGS)

    kept, result = disposition.messages
    assert kept.properties[KEPT_CLASS] == "rejected"
    assert kept.properties[KEPT_REASON] == "unknown event type (at type)"
    assert result.session_id == "pipeline-7"
    assert result.correlation_id == "evt-1"
    assert parse_result(result.body).data.outcome == "rejected"


def test_the_result_goes_to_the_reply_session_of_the_message_then_the_event_then_the_default() -> None:
    event = created(reply_session="from-event")
    plain = delivered(event)
    with_reply = IncomingMessage(**{**plain.__dict__, "reply_to_session_id": "from-message"})

    def session_of(message: IncomingMessage, event: Event) -> str | None:
        (result,) = answer(
            message, event=event, outcome=Outcome.SUCCEEDED, reason="done", steps=(), settings=SETTINGS
        ).messages
        return result.session_id

    assert session_of(with_reply, event) == "from-message"
    assert session_of(plain, event) == "from-event"
    assert session_of(delivered(created()), created()) == SETTINGS.default_reply_session


def test_a_redelivered_message_derives_the_same_ids_and_a_redriven_one_new_ids() -> None:
    event = created()

    def ids(message: IncomingMessage) -> list[str]:
        failed = answer(
            message, event=event, outcome=Outcome.FAILED, reason="no", steps=(), settings=SETTINGS
        )
        scheduled = retry_later(
            message, event=event, reason="later", retry_after=0.0, settings=SETTINGS, now=NOW
        )
        return [m.message_id for m in failed.messages + scheduled.messages]

    first = ids(delivered(event))
    assert ids(delivered(event)) == first
    assert set(ids(delivered(event, properties={REDRIVE: 1}))).isdisjoint(first)


def test_a_secret_quoted_in_a_reason_reaches_neither_the_kept_message_nor_the_result() -> None:
    event = created()
    secret = "kT9" + "8Q~" + "q2Vf.Zx7_Lm3Np0Rs-Tu5Wv8Yb1Cd4Eg6Hj"
    disposition = answer(
        delivered(event),
        event=event,
        outcome=Outcome.FAILED,
        reason=f"ARM said: client_secret={secret}",
        steps=(),
        settings=SETTINGS,
    )

    kept, result = disposition.messages
    assert "q2Vf.Zx7" not in str(kept.properties[KEPT_REASON])
    assert b"q2Vf.Zx7" not in result.body
