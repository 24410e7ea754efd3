"""The result event sent to `ppmi-results`: one per intake event, correlated by the original event's id."""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import Field

from shared.events._fields import MAX_EVENT_BYTES, MAX_TEXT_LENGTH, EventId, Text
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


MAX_STEPS = 500


class ResultData(StrictModel):
    outcome: Outcome
    event_id: EventId | None = None
    event_type: Text | None = None
    environment_id: Text | None = None
    reason: Text | None = None
    steps: list[StepResult] = Field(default_factory=list, max_length=MAX_STEPS)


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
    """The result of handling `event`, sent back on the caller's reply session if it named one.

    A result must stay readable by its receiver (at most `MAX_EVENT_BYTES`, at most `MAX_STEPS` steps): an
    organisation with hundreds of components gives hundreds of steps, so the least telling are summarised.
    """
    budget = STEPS_BUDGET_BYTES
    while True:
        data = ResultData(
            outcome=outcome,
            event_id=event.id,
            event_type=event.type,
            environment_id=event.data.environment_id,
            reason=None if reason is None else _fitted(reason),
            steps=fitted_steps(steps or [], budget_bytes=budget),
        )
        result = _result(data, subject=event.id, reply_session=event.reply_session, source=source)
        if len(result.to_json()) <= MAX_EVENT_BYTES or budget == 0:
            return result
        budget //= (
            4 if budget > 1024 else budget
        )  # pragma: no cover - only a reason of multi-byte text gets here


STEPS_BUDGET_BYTES = 40 * 1024  # steps listed one by one; the rest of the result stays well under 24 KiB
MAX_LISTED_STEPS = 300  # leaves room under MAX_STEPS for the summaries
MAX_SUMMARIES = 60  # one per (step, outcome) left out; past this, one per outcome
MAX_SUMMARISED_NAME = 100
# Which steps a summary lists one by one first: what failed or changed says more than what stayed as it was.
_TELLING: dict[str, int] = {
    "failed": 0,
    "created": 1,
    "updated": 1,
    "removed": 1,
    "skipped": 2,
    "unchanged": 3,
}


def fitted_steps(steps: Sequence[StepResult], *, budget_bytes: int = STEPS_BUDGET_BYTES) -> list[StepResult]:
    """`steps` as they are when they fit; else the most telling ones, in order, and the rest counted.

    Failures first, then changes, then skips, then unchanged steps are listed while they fit in
    `budget_bytes` and `MAX_LISTED_STEPS`; each (step, outcome) left out becomes one summary step.
    """
    sizes = [len(step.model_dump_json(by_alias=True, exclude_none=True)) + 1 for step in steps]
    if len(steps) <= MAX_LISTED_STEPS and sum(sizes) <= budget_bytes:
        return list(steps)
    listed: set[int] = set()
    used = 0
    for index in sorted(range(len(steps)), key=lambda i: (_TELLING[steps[i].outcome], i)):
        if len(listed) == MAX_LISTED_STEPS or used + sizes[index] > budget_bytes:
            break
        listed.add(index)
        used += sizes[index]
    left_out: Counter[tuple[str, StepOutcome]] = Counter(
        (step.step[:MAX_SUMMARISED_NAME], step.outcome)
        for index, step in enumerate(steps)
        if index not in listed
    )
    if len(left_out) > MAX_SUMMARIES:  # unusually many kinds of step: count them per outcome only
        by_outcome: Counter[StepOutcome] = Counter()
        for (_, outcome), count in left_out.items():
            by_outcome[outcome] += count
        left_out = Counter({("steps", outcome): count for outcome, count in by_outcome.items()})
    summaries = [
        StepResult(
            step=name,
            target=f"{count} more",
            outcome=outcome,
            detail=f"{count} further {name} steps {outcome}, counted rather than listed to keep the result "
            "within its size limit",
        )
        for (name, outcome), count in left_out.items()
    ]
    return [step for index, step in enumerate(steps) if index in listed] + summaries


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
