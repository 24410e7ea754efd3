"""structlog rendered through stdlib logging, so each field becomes an App Insights custom dimension."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

from shared.telemetry._redaction import redact, redact_field

# Every product logger lives under this stdlib logger; Azure Monitor attaches its handler here only.
ROOT_LOGGER_NAME = "ppmi"

# Attributes of `logging.LogRecord`: an `extra` key with one of these names makes stdlib raise.
_LOG_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def redact_event_dict(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: scrub secrets from the message and every field before rendering."""
    return {key: redact_field(key, value) for key, value in event_dict.items()}


def _avoid_record_attribute_clash(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Rename fields such as `name` or `module` that stdlib would refuse as `extra`."""
    return {
        (f"{key}_field" if key in _LOG_RECORD_ATTRIBUTES else key): value for key, value in event_dict.items()
    }


def _stringify_exception(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Keep exception text in the redacted fields instead of letting stdlib append raw tracebacks."""
    exc_info = event_dict.pop("exc_info", None)
    if exc_info:
        rendered = structlog.processors.format_exc_info(_, __, {"exc_info": exc_info}).get("exception")
        if rendered:
            event_dict["exception"] = redact(str(rendered))
    return event_dict


def _add_trace_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Stdout lines carry the trace ID that App Insights shows as operation_Id, to jump between them."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.filter_by_level,
        _stringify_exception,
        redact_event_dict,
        _avoid_record_attribute_clash,
        structlog.stdlib.render_to_log_kwargs,
    ]


def configure_logging(*, json_logs: bool | None, stream: TextIO | None = None) -> None:
    """Point structlog at stdlib and give the `ppmi` logger one handler (JSON, or console on a TTY).

    The handler writes to stdout (the Functions host's log stream) unless `stream` says otherwise: the CLI
    keeps stdout for its answers and logs on stderr.
    """
    stream = stream or sys.stdout
    if json_logs is None:
        json_logs = not stream.isatty()
    renderer: Processor = (
        structlog.processors.JSONRenderer(sort_keys=False)
        if json_logs
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.ExtraAdder(),
            _add_trace_context,
            redact_event_dict,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    root = logging.getLogger(ROOT_LOGGER_NAME)
    for handler in [h for h in root.handlers if isinstance(h, _StdoutHandler)]:
        root.removeHandler(handler)
    handler = _StdoutHandler(stream)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    structlog.configure(
        processors=_processors(),
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler configure_logging owns (on stdout or the stream given): reconfiguring replaces it."""


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A bound logger whose stdlib logger sits under `ppmi`, so its lines reach Azure Monitor."""
    qualified = (
        name if name == ROOT_LOGGER_NAME or name.startswith(f"{ROOT_LOGGER_NAME}.") else f"ppmi.{name}"
    )
    return structlog.stdlib.get_logger(qualified)
