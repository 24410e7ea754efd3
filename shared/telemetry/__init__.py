"""Telemetry for ppmi: structured logs, traces and metrics into Application Insights, secrets redacted.

Call `configure_telemetry()` once at start-up; wrap each queue message in `message_scope(...)` and each
provisioning step in `step_span(...)`; instrument every httpx client with `instrument_http_client`.
"""

from shared.telemetry._logging import get_logger
from shared.telemetry._metrics import (
    FIC_CAP,
    record_event,
    record_fic_capacity,
    record_kept_message,
    record_retry,
)
from shared.telemetry._redaction import redact
from shared.telemetry._scopes import (
    MessageScope,
    StepSpan,
    instrument_http_client,
    message_scope,
    step_span,
)
from shared.telemetry._setup import configure_telemetry, flush_telemetry

__all__ = [
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
