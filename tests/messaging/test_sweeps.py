"""Discovery and reconcile sweeps publish each event once, however often they run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.messaging.sweeps import discovery_events, reconcile_events

NOW = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
OLD = "11111111-1111-4111-8111-111111111111"
NEW = "22222222-2222-4222-8222-222222222222"
UNKNOWN_AGE = "33333333-3333-4333-8333-333333333333"


@dataclass(frozen=True)
class Listed:
    id: str
    created_time: datetime | None


LISTED = [
    Listed(OLD, NOW - timedelta(days=3)),
    Listed(NEW, NOW - timedelta(minutes=7)),
    Listed(UNKNOWN_AGE, None),
]


def test_discovery_announces_only_recent_environments_and_those_of_unknown_age() -> None:
    events = discovery_events(LISTED, now=NOW, lookback=timedelta(hours=1))

    assert [e.data.environment_id for e in events] == [NEW, UNKNOWN_AGE]
    assert {e.type for e in events} == {"ppmi.environment.created"}


def test_a_second_discovery_run_produces_the_same_event_ids_for_duplicate_detection() -> None:
    first = discovery_events(LISTED, now=NOW, lookback=timedelta(hours=1))
    second = discovery_events(LISTED, now=NOW + timedelta(minutes=5), lookback=timedelta(hours=1))

    assert [e.id for e in first] == [e.id for e in second]


def test_reconcile_asks_for_every_environment_once_per_hour() -> None:
    this_hour = reconcile_events(LISTED, now=NOW)
    same_hour = reconcile_events(LISTED, now=NOW + timedelta(minutes=20))
    next_hour = reconcile_events(LISTED, now=NOW + timedelta(hours=1))

    assert [e.data.environment_id for e in this_hour] == [OLD, NEW, UNKNOWN_AGE]
    assert [e.id for e in this_hour] == [e.id for e in same_hour]
    assert {e.id for e in this_hour}.isdisjoint(e.id for e in next_hour)
