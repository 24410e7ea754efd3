"""Each message leaves exactly one rich log line, and every line inside it carries the message's context."""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from shared.telemetry import configure_telemetry, get_logger, message_scope, record_retry, step_span
from shared.telemetry._logging import redact_event_dict

ENQUEUED = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    configure_telemetry(json_logs=True)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars, redact_event_dict]) as entries:
        yield entries


def scope(**overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "event_id": "evt-1",
        "event_type": "ppmi.environment.created",
        "environment_id": "7efcc31a-c410-e20e-9b95-dd448cedf653",
        "identity_key": "ppmi-7efcc31a",
        "attempt": 3,
        "queue": "ppmi-work",
        "enqueued_time": ENQUEUED,
        "message_id": "msg-1",
    }
    return message_scope(**{**arguments, **overrides})


def canonical(entries: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [entry for entry in entries if entry["event"] == "message.processed"]


def test_a_message_leaves_one_line_with_outcome_attempts_and_duration(
    logs: list[MutableMapping[str, Any]],
) -> None:
    with scope() as message:
        with step_span("ensure_identity", "ppmi-7efcc31a") as step:
            step.set_outcome("created")
        message.set_outcome("succeeded")
    [line] = canonical(logs)
    assert line["outcome"] == "succeeded"
    assert line["attempts"] == 3
    assert line["duration_ms"] >= 0
    assert line["enqueue_to_done_ms"] >= (datetime.now(UTC) - ENQUEUED - timedelta(minutes=1)).total_seconds()
    assert line["log_level"] == "info"
    assert {key: line[key] for key in ("event_id", "event_type", "environment_id", "identity_key")} == {
        "event_id": "evt-1",
        "event_type": "ppmi.environment.created",
        "environment_id": "7efcc31a-c410-e20e-9b95-dd448cedf653",
        "identity_key": "ppmi-7efcc31a",
    }


def test_lines_logged_inside_a_step_carry_the_message_and_step(logs: list[MutableMapping[str, Any]]) -> None:
    with scope(), step_span("ensure_fic", "signer-1"):
        get_logger("shared.engine").info("fic.written")
    [line] = [entry for entry in logs if entry["event"] == "fic.written"]
    assert line["event_id"] == "evt-1"
    assert line["step"] == "ensure_fic"
    assert line["attempt"] == 3


def test_context_is_gone_once_the_message_is_done(logs: list[MutableMapping[str, Any]]) -> None:
    with scope():
        pass
    get_logger("shared.engine").info("idle")
    [line] = [entry for entry in logs if entry["event"] == "idle"]
    assert "event_id" not in line


def test_an_escaping_error_marks_the_message_failed_and_still_propagates(
    logs: list[MutableMapping[str, Any]],
) -> None:
    with pytest.raises(TimeoutError), scope():
        raise TimeoutError("ARM did not answer")
    [line] = canonical(logs)
    assert (line["outcome"], line["reason"], line["log_level"]) == ("failed", "TimeoutError", "error")


def test_a_rejected_message_is_a_warning_with_its_reason(logs: list[MutableMapping[str, Any]]) -> None:
    with scope() as message:
        message.set_outcome("rejected", "untrusted signer")
    [line] = canonical(logs)
    assert (line["outcome"], line["reason"], line["log_level"]) == ("rejected", "untrusted signer", "warning")


def test_retries_inside_the_message_are_counted_on_its_line(logs: list[MutableMapping[str, Any]]) -> None:
    with scope():
        record_retry("arm", "429")
        record_retry("graph", "503")
    with scope(event_id="evt-2"):
        pass
    first, second = canonical(logs)
    assert (first["retries"], second["retries"]) == (2, 0)


def test_a_message_without_enqueue_time_still_has_its_line(logs: list[MutableMapping[str, Any]]) -> None:
    with scope(enqueued_time=None, message_id=None, environment_id=None):
        pass
    [line] = canonical(logs)
    assert "enqueue_to_done_ms" not in line
    assert "environment_id" not in line


def test_rendered_json_lines_hide_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_telemetry(json_logs=True)
    log = get_logger("shared.auth")
    log.info(
        "token.acquired",
        authorization="Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl",
        body='{"access_token": "opaque-secret-token"}',
    )
    with scope():
        log.warning("connection", value="Endpoint=sb://x/;SharedAccessKey=bus-key-value;")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    rendered = json.dumps(lines)
    assert "opaque-secret-token" not in rendered
    assert "bus-key-value" not in rendered
    assert "eyJhbGciOi" not in rendered
    assert [line["event"] for line in lines] == ["token.acquired", "connection", "message.processed"]
    assert lines[1]["event_id"] == "evt-1"
