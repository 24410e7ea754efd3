"""A `ppmi-work` session as one process holds it: a view of ARM for the hold, its environments in order.

`ppmi worker` knows when it holds a session (its receiver does). The Functions host does not say: its session
trigger (one message per invocation) hands the process messages of a session until the session has been idle
for host.json's `sessionIdleTimeout`, renewing the session lock meanwhile for up to
`maxAutoLockRenewalDuration` (Azure/azure-sdk-for-net, `Azure.Messaging.ServiceBus/src/Processor/
SessionReceiverManager.cs`: the receive loop ends on an empty receive of `SessionIdleTimeout`, the session
lock is renewed until `MaxAutoLockRenewalDuration` after the session was accepted). So `SessionHolds` infers
the hold from the invocations themselves: one that starts while another of its session is running, or less
than the idle timeout after the last one ended, belongs to the same hold; any other may follow a hold by
another instance, which may have written to the session's identities, and gets a fresh view.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from shared.engine import Runtime


class NotHandledError(Exception):
    """A message left alone because an earlier event of its environment failed unexpectedly."""


class OrderedKeys:
    """Work with one key runs one after another, in the order it was asked for; keys run side by side.

    Messages are numbered in queue order and an abandoned one comes back with its number: a redelivered
    earlier message waits for the work before it but does not inherit its failure, so it runs; a later one
    that would overtake a failed earlier one does not run (`NotHandledError`) and comes back after it.
    """

    def __init__(self) -> None:
        self._latest: dict[str, tuple[asyncio.Future[bool], int]] = {}

    async def run[T](self, key: str, number: int, work: Callable[[], Awaitable[T]]) -> T:
        previous = self._latest.get(key)
        finished: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._latest[key] = (finished, number)
        succeeded = False
        try:
            if previous is not None:
                earlier_succeeded = await asyncio.shield(previous[0])
                if not earlier_succeeded and number > previous[1]:
                    raise NotHandledError("not handled: an earlier event of its environment failed")
            result = await work()
            succeeded = True
            return result
        finally:
            finished.set_result(succeeded)  # kept for the hold: a later message learns how this one ended


@dataclass
class HeldSession:
    """What one hold of a session keeps: a view of ARM (`Runtime.held`) and the order of its environments."""

    runtime: Runtime
    order: OrderedKeys = field(default_factory=OrderedKeys)

    @classmethod
    def of(cls, runtime: Runtime) -> HeldSession:
        return cls(runtime.held())


@dataclass
class _Hold:
    session: HeldSession
    started: float
    running: int = 0
    last_ended: float = 0.0

    def continues(self, now: float, idle_seconds: float, renewal_seconds: float) -> bool:
        if now - self.started >= renewal_seconds:
            return False  # the host stopped renewing the session lock: another instance may hold it now
        return self.running > 0 or now - self.last_ended < idle_seconds


class SessionHolds:
    """The sessions the Functions host is handing this process, told apart by when their invocations run."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        idle_seconds: float,
        renewal_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runtime = runtime
        self._idle = idle_seconds
        self._renewal = renewal_seconds
        self._clock = clock
        self._holds: dict[str, _Hold] = {}

    @asynccontextmanager
    async def hold(self, session_id: str | None) -> AsyncIterator[HeldSession]:
        """The hold an invocation of `session_id` belongs to, for the duration of the invocation."""
        now = self._clock()
        self._forget_released(now)
        if session_id is None:  # not from a session: nothing to share
            yield HeldSession.of(self._runtime)
            return
        hold = self._holds.get(session_id)
        if hold is None or not hold.continues(now, self._idle, self._renewal):
            hold = self._holds[session_id] = _Hold(HeldSession.of(self._runtime), started=now)
        hold.running += 1
        try:
            yield hold.session
        finally:
            hold.running -= 1
            hold.last_ended = self._clock()

    def held(self) -> int:
        """How many sessions this process may still hold (a view each)."""
        self._forget_released(self._clock())
        return len(self._holds)

    def _forget_released(self, now: float) -> None:
        for session_id in [
            key
            for key, hold in self._holds.items()
            if not hold.continues(now, self._idle, self._renewal) and hold.running == 0
        ]:
            del self._holds[session_id]
