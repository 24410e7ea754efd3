"""Timer sweeps: announce environments created since the last look, and ask for a reconcile of every one.

There is no push event for a new environment (docs/architecture.md), so discovery polls the environments API.
Event IDs are deterministic (UUIDv5), so overlapping sweeps and several instances publish each event once:
Service Bus duplicate detection on `ppmi-events` drops the repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from shared.events import Event, EventValidationError, new_event
from shared.telemetry import get_logger

SWEEP_NAMESPACE = uuid.UUID("1b4e2f7c-6a53-4a8e-9f0d-3c2b1a0e9d87")
DISCOVERY_SOURCE = "/ppmi/discovery"
RECONCILE_SOURCE = "/ppmi/reconcile"
LOG = get_logger("shared.messaging.sweeps")


class ListedEnvironment(Protocol):
    """What a sweep needs of an environment from the environments API."""

    @property
    def id(self) -> str: ...

    @property
    def created_time(self) -> datetime | None: ...


def discovery_events(
    environments: Iterable[ListedEnvironment], *, now: datetime, lookback: timedelta
) -> list[Event]:
    """`ppmi.environment.created` for each environment created within `lookback` (or of unknown age)."""
    recent = [
        environment
        for environment in environments
        if environment.created_time is None or environment.created_time >= now - lookback
    ]
    return _events("ppmi.environment.created", DISCOVERY_SOURCE, recent, lambda id_: f"created/{id_}")


def reconcile_events(environments: Iterable[ListedEnvironment], *, now: datetime) -> list[Event]:
    """`ppmi.environment.reconcile` for every environment, one per environment and hour."""
    hour = now.strftime("%Y-%m-%dT%H")
    return _events(
        "ppmi.environment.reconcile", RECONCILE_SOURCE, environments, lambda id_: f"reconcile/{id_}/{hour}"
    )


def _events(
    event_type: str, source: str, environments: Iterable[ListedEnvironment], key: Callable[[str], str]
) -> list[Event]:
    """One event per environment; an environment whose ID no event may carry is skipped and logged, so one
    odd entry in the environments API cannot stop the sweep for every other environment."""
    events = []
    for environment in environments:
        try:
            events.append(
                new_event(
                    event_type,
                    {"environmentId": environment.id},
                    source=source,
                    id=str(uuid.uuid5(SWEEP_NAMESPACE, key(environment.id))),
                )
            )
        except EventValidationError as error:
            LOG.warning("sweep.environment_skipped", event_type=event_type, reason=error.reason)
    return events
