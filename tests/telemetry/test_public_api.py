"""The names and signatures other modules call stay put; changing them is a deliberate act."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from shared import telemetry


def test_the_public_names_are_pinned() -> None:
    assert sorted(telemetry.__all__) == [
        "FIC_CAP",
        "MessageScope",
        "StepSpan",
        "configure_telemetry",
        "flush_telemetry",
        "get_logger",
        "instrument_http_client",
        "message_scope",
        "record_event",
        "record_fic_capacity",
        "record_kept_message",
        "record_retry",
        "redact",
        "step_span",
    ]


def test_keyword_only_entry_points_keep_their_parameters() -> None:
    def keywords(function: Callable[..., object]) -> list[str]:
        parameters = inspect.signature(function).parameters.values()
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters)
        return [p.name for p in parameters]

    assert keywords(telemetry.configure_telemetry) == [
        "service_name",
        "connection_string",
        "credential",
        "json_logs",
        "log_stream",
    ]
    assert keywords(telemetry.message_scope) == [
        "event_id",
        "event_type",
        "environment_id",
        "identity_key",
        "attempt",
        "queue",
        "enqueued_time",
        "message_id",
    ]


def test_the_fic_cap_is_the_entra_limit() -> None:
    assert telemetry.FIC_CAP == 20
    assert inspect.signature(telemetry.record_fic_capacity).parameters["cap"].default == 20
