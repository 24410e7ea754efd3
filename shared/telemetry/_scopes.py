"""Spans for a unit of work: a consumer span per message (→ requests), a span per step (→ dependencies)."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import structlog
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo, ResponseInfo
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from shared.telemetry._logging import get_logger
from shared.telemetry._metrics import RETRY_TALLY, RetryTally, record_event, record_step_duration
from shared.telemetry._redaction import redact, redact_field

FAILURE_OUTCOMES = frozenset({"failed", "rejected"})
"""Outcomes that mark the request as unsuccessful in Application Insights."""

_canonical_log = get_logger("ppmi.message")


def _tracer() -> trace.Tracer:
    """Looked up per use, so spans follow whichever provider configure_telemetry installed last."""
    return trace.get_tracer("ppmi")


def _safe_attributes(attributes: Mapping[str, AttributeValue | None]) -> dict[str, AttributeValue]:
    safe: dict[str, AttributeValue] = {}
    for key, value in attributes.items():
        if value is not None:
            safe[key] = redact_field(key, value)
    return safe


# Marks an exception already recorded by an inner scope, so one failure is one row in `exceptions`.
_RECORDED_MARK = "_ppmi_telemetry_recorded"


def _record_exception(span: Span, exc: BaseException) -> None:
    """Record *exc* once, on the innermost span, scrubbed and tagged with the bound message context."""
    if getattr(exc, _RECORDED_MARK, False):
        return
    stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    context = _safe_attributes(structlog.contextvars.get_contextvars())
    span.record_exception(
        exc,
        attributes={**context, "exception.message": redact(str(exc)), "exception.stacktrace": redact(stack)},
        escaped=True,
    )
    setattr(exc, _RECORDED_MARK, True)


@dataclass
class MessageScope:
    """What is known about the message being processed; the handler sets the outcome before leaving."""

    event_id: str
    event_type: str
    environment_id: str | None
    identity_key: str | None
    attempt: int
    queue: str
    message_id: str | None
    enqueued_time: datetime | None
    outcome: str | None = None
    reason: str | None = None
    _retries: RetryTally = field(default_factory=RetryTally, repr=False)

    def set_outcome(self, outcome: str, reason: str | None = None) -> None:
        """Settle the message: succeeded | failed | rejected | rescheduled, and why when not a success."""
        self.outcome = outcome
        self.reason = reason

    @property
    def retries(self) -> int:
        return self._retries.count


@contextmanager
def message_scope(
    *,
    event_id: str,
    event_type: str,
    environment_id: str | None,
    identity_key: str | None,
    attempt: int,
    queue: str,
    enqueued_time: datetime | None,
    message_id: str | None,
) -> Iterator[MessageScope]:
    """One consumer span, bound log context and one canonical log line for processing one queue message."""
    scope = MessageScope(
        event_id=event_id,
        event_type=event_type,
        environment_id=environment_id,
        identity_key=identity_key,
        attempt=attempt,
        queue=queue,
        message_id=message_id,
        enqueued_time=enqueued_time,
    )
    context = _safe_attributes(
        {
            "event_id": event_id,
            "event_type": event_type,
            "environment_id": environment_id,
            "identity_key": identity_key,
            "attempt": attempt,
        }
    )
    messaging = _safe_attributes(
        {
            "messaging.system": "servicebus",
            "messaging.operation.type": "process",
            "messaging.destination.name": queue,
            "messaging.message.id": message_id,
            "messaging.servicebus.message.delivery_count": attempt,
            "messaging.servicebus.message.enqueued_time": (
                int(enqueued_time.timestamp()) if enqueued_time is not None else None
            ),
            "queue": queue,
            "message_id": message_id,
        }
    )
    started = time.perf_counter()
    tally_token = RETRY_TALLY.set(scope._retries)
    try:
        with (
            _tracer().start_as_current_span(
                event_type,
                kind=SpanKind.CONSUMER,
                attributes={**context, **messaging},
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
            structlog.contextvars.bound_contextvars(**context),
        ):
            try:
                yield scope
            except BaseException as exc:
                if scope.outcome not in FAILURE_OUTCOMES:
                    scope.set_outcome("failed", type(exc).__name__)
                _record_exception(span, exc)
                raise
            finally:
                _finish_message(scope, span, started)
    finally:
        RETRY_TALLY.reset(tally_token)


def _finish_message(scope: MessageScope, span: Span, started: float) -> None:
    outcome = scope.outcome or "succeeded"
    duration_ms = round((time.perf_counter() - started) * 1000, 3)
    enqueue_to_done_ms = (
        round((datetime.now(UTC) - scope.enqueued_time).total_seconds() * 1000, 3)
        if scope.enqueued_time is not None
        else None
    )
    result = _safe_attributes(
        {
            "outcome": outcome,
            "reason": scope.reason,
            "attempts": scope.attempt,
            "retries": scope.retries,
            "duration_ms": duration_ms,
            "enqueue_to_done_ms": enqueue_to_done_ms,
        }
    )
    span.set_attributes(result)
    if outcome in FAILURE_OUTCOMES:
        span.set_status(Status(StatusCode.ERROR, redact(scope.reason or outcome)))
    else:
        span.set_status(Status(StatusCode.OK))
    record_event(scope.event_type, outcome)
    level = (
        logging.ERROR if outcome == "failed" else logging.WARNING if outcome == "rejected" else logging.INFO
    )
    _canonical_log.log(
        level,
        "message.processed",
        **_safe_attributes({"queue": scope.queue, "message_id": scope.message_id}),
        **result,
    )


@dataclass
class StepSpan:
    """One provisioning step in progress; the step sets created | updated | unchanged | removed | skipped."""

    step: str
    target: str
    outcome: str | None = None
    reason: str | None = None

    def set_outcome(self, outcome: str, reason: str | None = None) -> None:
        self.outcome = outcome
        self.reason = reason


@contextmanager
def step_span(step: str, target: str) -> Iterator[StepSpan]:
    """A span per step with its outcome and a duration metric; the step name joins the bound log context."""
    current = StepSpan(step=step, target=target)
    started = time.perf_counter()
    with (
        _tracer().start_as_current_span(
            step,
            kind=SpanKind.INTERNAL,
            attributes=_safe_attributes({"step": step, "target": target}),
            record_exception=False,
            set_status_on_exception=False,
        ) as span,
        structlog.contextvars.bound_contextvars(step=step),
    ):
        try:
            yield current
        except BaseException as exc:
            current.set_outcome("failed", current.reason or type(exc).__name__)
            _record_exception(span, exc)
            raise
        finally:
            outcome = current.outcome or "completed"
            span.set_attributes(_safe_attributes({"outcome": outcome, "reason": current.reason}))
            span.set_status(
                Status(StatusCode.ERROR, redact(current.reason or outcome))
                if outcome == "failed"
                else Status(StatusCode.OK)
            )
            record_step_duration(step, outcome, (time.perf_counter() - started) * 1000)


def _scrub_span(span: Span) -> None:
    """Rewrite any attribute the HTTP instrumentation set from the raw request (URLs carry SAS signatures)."""
    attributes: Mapping[str, AttributeValue] = getattr(span, "attributes", None) or {}
    for key, value in list(attributes.items()):
        scrubbed = redact_field(key, value)
        if scrubbed != value:
            span.set_attribute(key, scrubbed)


async def _on_request(span: Span, _: RequestInfo) -> None:
    _scrub_span(span)


async def _on_response(span: Span, _: RequestInfo, __: ResponseInfo) -> None:
    _scrub_span(span)


def instrument_http_client(client: httpx.AsyncClient) -> None:
    """Give every call made by *client* a client span (→ App Insights dependencies), scrubbed of secrets."""
    HTTPXClientInstrumentor.instrument_client(
        client,
        request_hook=_on_request,
        response_hook=_on_response,
    )
