"""The one place that configures telemetry: structlog, OpenTelemetry and the Azure Monitor exporters."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TextIO

from azure.core.credentials import TokenCredential
from azure.monitor.opentelemetry import configure_azure_monitor
from opentelemetry import _logs, metrics, trace
from opentelemetry.sdk._logs import LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource

from shared.telemetry._logging import ROOT_LOGGER_NAME, configure_logging
from shared.telemetry._metrics import use_meter
from shared.telemetry._redaction import redact, redact_field

CONNECTION_STRING_VARIABLE = "APPLICATIONINSIGHTS_CONNECTION_STRING"

# Quiet, deterministic defaults (domain.md §10); an operator can still override each by setting it.
_ENVIRONMENT_DEFAULTS = {
    "OTEL_TRACES_SAMPLER": "always_on",
    "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "otel",
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
}

# Only Azure SDK calls (token requests, Service Bus) are traced automatically; httpx clients opt in.
_INSTRUMENTATIONS = {
    name: {"enabled": name == "azure_sdk"}
    for name in (
        "azure_sdk",
        "django",
        "fastapi",
        "flask",
        "httpx",
        "httpx2",
        "psycopg2",
        "requests",
        "urllib",
        "urllib3",
    )
}


class RedactingLogRecordProcessor(LogRecordProcessor):
    """Scrubs every exported log record, including ones that never went through structlog."""

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        record = log_record.log_record
        if isinstance(record.body, str):
            record.body = redact(record.body)
        if record.attributes:
            for key, value in list(record.attributes.items()):
                scrubbed = redact_field(key, value)
                if scrubbed != value:
                    record.attributes[key] = scrubbed  # type: ignore[index]

    def shutdown(self) -> None:
        """Nothing to release: the processor holds no resources."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


@dataclass(frozen=True)
class _ExportTarget:
    connection_string: str
    service_name: str


_configured: _ExportTarget | None = None


def configure_telemetry(
    *,
    service_name: str = "ppmi",
    connection_string: str | None = None,
    credential: TokenCredential | None = None,
    json_logs: bool | None = None,
    log_stream: TextIO | None = None,
) -> None:
    """Set up logs, traces and metrics once; calling again with the same target changes nothing.

    Without a connection string (argument or `APPLICATIONINSIGHTS_CONNECTION_STRING`) only structured
    logs are configured. With *credential*, ingestion uses Entra authentication instead of the key.
    """
    global _configured  # noqa: PLW0603 - process-wide OpenTelemetry providers can be installed only once
    configure_logging(json_logs=json_logs, stream=log_stream)
    logging.getLogger("azure").setLevel(logging.WARNING)
    connection_string = connection_string or os.environ.get(CONNECTION_STRING_VARIABLE) or None
    if connection_string is None:
        return
    target = _ExportTarget(connection_string=connection_string, service_name=service_name)
    if _configured == target:
        return
    if _configured is not None:
        raise RuntimeError(
            "Telemetry is already exporting to another Application Insights resource; "
            "call shared.telemetry.testing.reset_telemetry() first (tests only)."
        )
    for name, value in _ENVIRONMENT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    configure_azure_monitor(
        connection_string=connection_string,
        credential=credential,
        resource=Resource.create({"service.name": service_name}),
        logger_name=ROOT_LOGGER_NAME,
        enable_live_metrics=False,
        enable_performance_counters=False,
        disable_offline_storage=True,
        instrumentation_options=_INSTRUMENTATIONS,
        log_record_processors=[RedactingLogRecordProcessor()],
    )
    use_meter(metrics.get_meter("ppmi"))
    _configured = target


def flush_telemetry(timeout_millis: int = 10_000) -> None:
    """Push every buffered span, metric and log record to the exporters now (before exit, and in tests)."""
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()):
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is not None:
            force_flush(timeout_millis)


def forget_configuration() -> None:
    """Let configure_telemetry install new providers (used by the testing reset only)."""
    global _configured  # noqa: PLW0603
    _configured = None
    use_meter(metrics.get_meter("ppmi"))
