"""Time as the HTTP layer sees it: the real clock in production, a virtual one so tests never sleep."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds and a way to wait; every wait in the HTTP layer goes through one."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real monotonic clock."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """A clock whose `sleep` advances time instantly: retries and pacing run at full speed, in order.

    `slept` lists every wait, so tests can assert on how long the layer chose to wait.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self._now += seconds  # concurrent waits add up: later than real time, never earlier
        await asyncio.sleep(0)
