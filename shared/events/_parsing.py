"""Parsing untrusted event bytes into typed events, with one precise reason per refusal."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from shared.events._fields import MAX_EVENT_BYTES
from shared.events._models import EVENT_MODELS, EVENT_TYPES, Event
from shared.events._quoting import shown, shown_key


class EventValidationError(ValueError):
    """An event this service will not act on; `reason` tells the sender what to fix, `field` where."""

    def __init__(self, reason: str, field: str = "$") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Duplicate keys are refused: two readers could otherwise disagree on which value counts."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _refuse_constant(name: str) -> None:
    raise EventValidationError(f"the event holds {name}, which is not JSON; send numbers as finite values")


def _load_json(raw: bytes | str) -> tuple[str, dict[str, Any]]:
    encoded = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(encoded) > MAX_EVENT_BYTES:
        raise EventValidationError(
            f"the event is {len(encoded)} bytes; the limit is {MAX_EVENT_BYTES} bytes (send the certificate "
            "as DER, not a chain or a PFX)"
        )
    try:
        text = encoded.decode("utf-8")
    except UnicodeDecodeError:
        raise EventValidationError("the event is not UTF-8 text; send CloudEvents structured JSON") from None
    try:
        loaded = json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_refuse_constant
        )
    except _DuplicateKeyError as error:
        key = shown_key(error.key)
        raise EventValidationError(f"the key '{key}' appears twice; send it once", key) from None
    except RecursionError:
        raise EventValidationError(
            "the event nests too deeply; events are at most a few levels deep"
        ) from None
    except json.JSONDecodeError as error:
        raise EventValidationError(
            f"the event is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except EventValidationError:
        raise
    except ValueError:  # int() past sys.get_int_max_str_digits(): JSON allows it, Python refuses to read it
        raise EventValidationError(
            f"the event holds a number of more than {sys.get_int_max_str_digits()} digits; no field of an "
            "event is a number that long"
        ) from None
    if not isinstance(loaded, dict):
        raise EventValidationError("the event must be a JSON object (CloudEvents structured mode)")
    return text, loaded


def _model_for(document: Mapping[str, Any]) -> type[Event]:
    event_type = document.get("type")
    if event_type is None:
        raise EventValidationError("the CloudEvents attribute 'type' is required", "type")
    if not isinstance(event_type, str):
        raise EventValidationError("'type' must be a JSON string", "type")
    model = EVENT_MODELS.get(event_type)
    if model is None:
        raise EventValidationError(
            f"the event type {shown(event_type)} is unknown; use one of: {', '.join(EVENT_TYPES)}", "type"
        )
    return model


def parse_event(raw: bytes | str) -> Event:
    """Validate an intake event strictly; raise `EventValidationError` naming the first problem."""
    text, document = _load_json(raw)
    return _validated(_model_for(document), text)


def validate_json[ModelT: BaseModel](model: type[ModelT], raw: bytes | str) -> ModelT:
    """Size, JSON and duplicate-key checks, then the model's own strict validation."""
    text, _ = _load_json(raw)
    return _validated(model, text)


def _validated[ModelT: BaseModel](model: type[ModelT], text: str) -> ModelT:
    """JSON is read by the published names only (`environmentId`, never `environment_id`), as the JSON
    Schemas say; Python code may still build models by field name."""
    try:
        return model.model_validate_json(text, by_alias=True, by_name=False)
    except ValidationError as error:
        raise _first_error(error) from None


def new_event(
    type: str,
    data: Mapping[str, Any] | BaseModel,
    *,
    source: str,
    id: str | None = None,
    reply_session: str | None = None,
) -> Event:
    """Build an event through the same validation a received one goes through."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True, exclude_none=True)
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": dict(data),
    }
    if reply_session is not None:
        document["replysession"] = reply_session
    return parse_event(json.dumps(document))


def json_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            key = shown_key(part)
            path += f".{key}" if path else key
    return path or "$"


def _first_error(error: ValidationError) -> EventValidationError:
    details = error.errors(include_url=False)
    misspelt = _snake_case_spelling(details)
    if misspelt is not None:
        return misspelt
    detail = details[0]
    field = json_path(detail["loc"])
    return EventValidationError(f"{field} {_sentence(detail, field)}", field)


def _snake_case_spelling(details: list[ErrorDetails]) -> EventValidationError | None:
    """`environment_id` sent for `environmentId`: say so, rather than that `environmentId` is missing."""
    missing = {tuple(detail["loc"]) for detail in details if detail["type"] == "missing"}
    for detail in details:
        location = tuple(detail["loc"])
        if detail["type"] != "extra_forbidden" or not location or not isinstance(location[-1], str):
            continue
        spelled = to_camel(location[-1])
        if spelled != location[-1] and (*location[:-1], spelled) in missing:
            field = json_path(location)
            return EventValidationError(
                f"{field} is not a known field: events spell it {spelled}, as the JSON Schemas do", field
            )
    return None


def _sentence(detail: ErrorDetails, field: str) -> str:
    kind = detail["type"]
    context = detail.get("ctx", {})
    leaf = field.rsplit(".", 1)[-1]
    if kind == "extra_forbidden":
        if "url" in leaf.lower():
            return (
                "is not allowed: the Dataverse URL is always looked up from the Power Platform API, "
                "never taken from an event; remove it"
            )
        return "is not a known field; remove it (check the spelling against docs/events.md)"
    sentences = {
        "missing": "is required",
        "string_type": "must be a JSON string",
        "bool_type": "must be JSON true or false",
        "int_type": "must be a JSON integer",
        "model_type": "must be a JSON object",
        "dict_type": "must be a JSON object",
        "model_attributes_type": "must be a JSON object",
        "list_type": "must be a JSON array",
        "string_too_short": "must not be empty",
        "string_too_long": f"is longer than the limit of {context.get('max_length')} characters",
        "literal_error": f"must be {context.get('expected')}",
        "timezone_aware": "must carry a time zone, e.g. 2026-01-31T08:00:00Z",
    }
    if kind in sentences:
        return sentences[kind]
    if kind.startswith("datetime"):
        return "must be an RFC 3339 timestamp such as 2026-01-31T08:00:00Z"
    return str(detail["msg"])
