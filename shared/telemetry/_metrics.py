"""The `ppmi.*` metrics: events, step durations, retries, identity capacity and kept messages."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry import metrics
from opentelemetry.metrics import _Gauge as Gauge  # synchronous gauge, still underscored upstream

from shared.telemetry._redaction import redact

FIC_CAP = 20
"""Entra allows at most 20 federated identity credentials per identity; no increase is possible."""

EVENTS = "ppmi.events"
STEP_DURATION = "ppmi.step.duration"
RETRIES = "ppmi.retries"
IDENTITY_FICS = "ppmi.identity.fics"
KEPT_MESSAGES = "ppmi.messages.kept"


@dataclass(frozen=True)
class MetricInstruments:
    """The instruments of one meter; rebuilt whenever telemetry is configured so tests can re-point them."""

    events: metrics.Counter
    step_duration: metrics.Histogram
    retries: metrics.Counter
    identity_fics: Gauge
    kept_messages: metrics.Counter

    @classmethod
    def from_meter(cls, meter: metrics.Meter) -> MetricInstruments:
        return cls(
            events=meter.create_counter(
                EVENTS, unit="{event}", description="Events settled, by type and outcome"
            ),
            step_duration=meter.create_histogram(
                STEP_DURATION, unit="ms", description="Duration of one provisioning step, by step and outcome"
            ),
            retries=meter.create_counter(
                RETRIES, unit="{retry}", description="Retried calls, by service and reason"
            ),
            identity_fics=meter.create_gauge(
                IDENTITY_FICS,
                unit="{credential}",
                description="Federated identity credentials on one identity, against the cap of 20",
            ),
            kept_messages=meter.create_counter(
                KEPT_MESSAGES, unit="{message}", description="Messages kept for a person to look at, by class"
            ),
        )


@dataclass
class RetryTally:
    """Retries seen inside one message_scope, reported on its canonical line."""

    count: int = 0


RETRY_TALLY: ContextVar[RetryTally | None] = ContextVar("ppmi_retry_tally", default=None)

_instruments = MetricInstruments.from_meter(metrics.get_meter("ppmi"))


def use_meter(meter: metrics.Meter) -> None:
    """Create the instruments on *meter* (called by configure_telemetry)."""
    global _instruments  # noqa: PLW0603 - one process-wide set of instruments, swapped on configure
    _instruments = MetricInstruments.from_meter(meter)


def record_event(event_type: str, outcome: str) -> None:
    """Count an event settled outside a message_scope (message_scope counts its own)."""
    _instruments.events.add(1, {"event_type": event_type, "outcome": outcome})


def record_step_duration(step: str, outcome: str, duration_ms: float) -> None:
    _instruments.step_duration.record(duration_ms, {"step": step, "outcome": outcome})


def record_retry(service: str, reason: str) -> None:
    """Count one retried call: *service* is the callee (arm, graph, dataverse), *reason* why (429, 5xx)."""
    _instruments.retries.add(1, {"service": service, "reason": redact(reason)})
    tally = RETRY_TALLY.get()
    if tally is not None:
        tally.count += 1


def record_fic_capacity(identity: str, count: int, cap: int = FIC_CAP) -> None:
    """Report how many FICs *identity* holds, so capacity can be watched against the hard cap."""
    _instruments.identity_fics.set(count, {"identity": identity, "cap": cap})


def record_kept_message(reason_class: str) -> None:
    """Count a message kept with its reason (dead-lettered); any such message deserves an alert."""
    _instruments.kept_messages.add(1, {"reason_class": reason_class})
