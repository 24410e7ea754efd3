"""Which hold of a session an invocation of the Functions trigger belongs to, told from the clock alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from shared.engine import Runtime
from shared.messaging.sessions import HeldSession, SessionHolds

IDLE = 2.0
RENEWAL = 60.0


@dataclass
class Views:
    """Stands in for the runtime: each `held()` is a new view, counted."""

    made: list[object] = field(default_factory=list)

    def held(self) -> object:
        self.made.append(object())
        return self.made[-1]


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def holds(views: Views, clock: Clock) -> SessionHolds:
    return SessionHolds(cast(Runtime, views), idle_seconds=IDLE, renewal_seconds=RENEWAL, clock=clock)


async def view_of(
    sessions: SessionHolds, session_id: str, clock: Clock, *, lasting: float = 0.0
) -> HeldSession:
    async with sessions.hold(session_id) as held:
        clock.now += lasting
        return held


async def test_calls_less_than_the_idle_timeout_apart_share_the_hold_and_a_later_one_gets_a_fresh_view() -> (
    None
):
    views, clock = Views(), Clock()
    sessions = holds(views, clock)

    first = await view_of(sessions, "pool", clock, lasting=30.0)
    clock.now += IDLE - 0.5
    second = await view_of(sessions, "pool", clock)
    clock.now += IDLE + 0.5
    third = await view_of(sessions, "pool", clock)

    assert first is second
    assert third is not second
    assert len(views.made) == 2


async def test_a_call_that_starts_while_another_of_its_session_runs_shares_its_hold() -> None:
    views, clock = Views(), Clock()
    sessions = holds(views, clock)

    async with sessions.hold("pool") as running:
        clock.now += 10 * IDLE  # a long call: the host holds the session for as long as it runs
        together = await view_of(sessions, "pool", clock)

    assert together is running


async def test_a_hold_older_than_the_lock_renewal_limit_is_not_trusted_even_when_busy() -> None:
    views, clock = Views(), Clock()
    sessions = holds(views, clock)

    async with sessions.hold("pool") as old:
        clock.now += RENEWAL
        after_renewal = await view_of(sessions, "pool", clock)

    assert after_renewal is not old


async def test_sessions_are_held_apart_and_forgotten_once_idle() -> None:
    views, clock = Views(), Clock()
    sessions = holds(views, clock)

    a = await view_of(sessions, "identity-a", clock)
    b = await view_of(sessions, "identity-b", clock)
    held_then = sessions.held()
    clock.now += IDLE
    held_later = sessions.held()

    assert a is not b
    assert (held_then, held_later) == (2, 0)
