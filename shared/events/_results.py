"""The result event sent to `ppmi-results`: one per intake event, correlated by the original event's id."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import Field

from shared.events._fields import MAX_TEXT_LENGTH, EventId, Text
from shared.events._models import EVENT_TYPES, CloudEvent, Event, StrictModel
from shared.events._parsing import EventValidationError, validate_json
from shared.events._quoting import is_quotable
from shared.telemetry import redact

RESULT_TYPE: Final = "ppmi.result"
RESULT_SOURCE = "/ppmi/engine"

_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)

Outcome = Literal["succeeded", "failed", "rejected"]
StepOutcome = Literal["created", "updated", "unchanged", "removed", "skipped", "failed"]


class StepResult(StrictModel):
    """What one step did to one target (an identity, a FIC, a Dataverse row, a role assignment)."""

    step: Text
    target: Text
    outcome: StepOutcome
    detail: Text | None = None


class ResultData(StrictModel):
    outcome: Outcome
    event_id: EventId | None = None
    event_type: Text | None = None
    environment_id: Text | None = None
    reason: Text | None = None
    steps: list[StepResult] = Field(default_factory=list, max_length=500)


class ResultEvent(CloudEvent):
    type: Literal["ppmi.result"]
    data: ResultData


def parse_result(raw: bytes | str) -> ResultEvent:
    return validate_json(ResultEvent, raw)


def _result(data: ResultData, *, subject: str | None, reply_session: str | None, source: str) -> ResultEvent:
    return ResultEvent(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=source,
        type=RESULT_TYPE,
        time=datetime.now(UTC),
        subject=subject,
        datacontenttype="application/json",
        reply_session=reply_session,
        data=data,
    )


def result_for(
    event: Event,
    outcome: Outcome,
    reason: str | None = None,
    steps: list[StepResult] | None = None,
    *,
    source: str = RESULT_SOURCE,
) -> ResultEvent:
    """The result of handling `event`, sent back on the caller's reply session if it named one."""
    data = ResultData(
        outcome=outcome,
        event_id=event.id,
        event_type=event.type,
        environment_id=event.data.environment_id,
        reason=None if reason is None else _fitted(reason),
        steps=steps or [],
    )
    return _result(data, subject=event.id, reply_session=event.reply_session, source=source)


def rejected_result(
    raw: bytes | str, error: EventValidationError, *, source: str = RESULT_SOURCE
) -> ResultEvent:
    """A `rejected` result for bytes that failed validation, keeping whatever correlation could be read."""
    attributes = _readable_attributes(raw)
    data = ResultData(
        outcome="rejected",
        event_id=attributes.get("id"),
        event_type=attributes.get("type"),
        reason=_fitted(error.reason),
    )
    return _result(
        data, subject=attributes.get("id"), reply_session=attributes.get("replysession"), source=source
    )


def _fitted(reason: str) -> str:
    """A reason within the result's limit: services can answer with pages of text, which must not sink it."""
    if len(reason) <= MAX_TEXT_LENGTH:
        return reason
    return reason[: MAX_TEXT_LENGTH - 40] + f" ... ({len(reason)} characters in all)"


def _readable_attributes(raw: bytes | str) -> dict[str, str]:
    """Only short visible-ASCII strings are echoed back, so a hostile event cannot shape the result.

    Nothing secret-shaped is echoed, and an unknown type only when it is harmless to repeat.
    """
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(document, dict):
        return {}
    readable: dict[str, str] = {}
    for name in ("id", "type", "replysession"):
        value = document.get(name)
        if not isinstance(value, str) or not _VISIBLE_ASCII.fullmatch(value) or redact(value) != value:
            continue
        if name == "type" and value not in EVENT_TYPES and not is_quotable(value):
            continue
        readable[name] = value
    return readable
