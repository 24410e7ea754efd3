"""Test support: export to a fresh ingestion endpoint per test and flush deterministically.

OpenTelemetry lets a process install its providers only once; tests that point telemetry at a new
loopback ingestion endpoint reset that state here (the same reset OpenTelemetry's own tests use).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.credentials import TokenCredential
from opentelemetry import _logs, metrics, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.util._once import Once

from shared.telemetry._logging import ROOT_LOGGER_NAME
from shared.telemetry._setup import configure_telemetry, flush_telemetry, forget_configuration

__all__ = ["exporting_to", "reset_telemetry"]


def reset_telemetry() -> None:
    """Flush and shut down the installed providers and forget them, so configure_telemetry can run again."""
    flush_telemetry()
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider(), _logs.get_logger_provider()):
        shutdown = getattr(provider, "shutdown", None)
        if shutdown is not None:
            shutdown()
    root = logging.getLogger(ROOT_LOGGER_NAME)
    for handler in [h for h in root.handlers if isinstance(h, LoggingHandler)]:
        root.removeHandler(handler)
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace._PROXY_TRACER_PROVIDER = trace.ProxyTracerProvider()
    metrics._internal._METER_PROVIDER_SET_ONCE = Once()
    metrics._internal._METER_PROVIDER = None
    metrics._internal._PROXY_METER_PROVIDER = metrics._internal._ProxyMeterProvider()
    _logs._internal._LOGGER_PROVIDER_SET_ONCE = Once()
    _logs._internal._LOGGER_PROVIDER = None
    _logs._internal._PROXY_LOGGER_PROVIDER = _logs._internal.ProxyLoggerProvider()
    forget_configuration()


@contextmanager
def exporting_to(
    connection_string: str, *, credential: TokenCredential | None = None, service_name: str = "ppmi"
) -> Iterator[None]:
    """Export telemetry to *connection_string* inside the block; everything is flushed when it ends."""
    reset_telemetry()
    configure_telemetry(
        service_name=service_name, connection_string=connection_string, credential=credential, json_logs=True
    )
    try:
        yield
    finally:
        reset_telemetry()
