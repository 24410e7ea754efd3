"""Timer sweeps: announce environments created since the last look, and ask for a reconcile of every one.

There is no push event for a new environment (docs/architecture.md), so discovery polls the environments API.
Event IDs are deterministic (UUIDv5), so overlapping sweeps and several instances publish each event once:
Service Bus duplicate detection on `ppmi-events` drops the repeats.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from shared.events import Event, new_event

SWEEP_NAMESPACE = uuid.UUID("1b4e2f7c-6a53-4a8e-9f0d-3c2b1a0e9d87")
DISCOVERY_SOURCE = "/ppmi/discovery"
RECONCILE_SOURCE = "/ppmi/reconcile"


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
    return [
        new_event(
            "ppmi.environment.created",
            {"environmentId": environment.id},
            source=DISCOVERY_SOURCE,
            id=str(uuid.uuid5(SWEEP_NAMESPACE, f"created/{environment.id}")),
        )
        for environment in environments
        if environment.created_time is None or environment.created_time >= now - lookback
    ]


def reconcile_events(environments: Iterable[ListedEnvironment], *, now: datetime) -> list[Event]:
    """`ppmi.environment.reconcile` for every environment, one per environment and hour."""
    hour = now.strftime("%Y-%m-%dT%H")
    return [
        new_event(
            "ppmi.environment.reconcile",
            {"environmentId": environment.id},
            source=RECONCILE_SOURCE,
            id=str(uuid.uuid5(SWEEP_NAMESPACE, f"reconcile/{environment.id}/{hour}")),
        )
        for environment in environments
    ]
