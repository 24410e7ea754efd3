"""Client-side pacing: stay under documented service limits instead of bouncing off them.

Token buckets (rate per second, burst) per kind and key, e.g. managed-identity writes per subscription
and per identity, ARM writes per subscription; a concurrency cap per Dataverse organisation. A 429 halves
a bucket's rate; every success wins back a twentieth of the configured rate, so recovery is slow (AIMD).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.http._clock import Clock


@dataclass(frozen=True)
class Rate:
    """A token-bucket limit: `per_second` sustained, `burst` at once."""

    per_second: float
    burst: float


# Documented limits (domain reference §4): managed identity RP writes 2/s per subscription and 0.25/s per
# resource; ARM writes refill 10/s with a burst of 200 per subscription.
DEFAULT_RATES: Mapping[str, Rate] = {
    "managed-identity-writes-per-subscription": Rate(per_second=2.0, burst=10.0),
    "managed-identity-writes-per-identity": Rate(per_second=0.25, burst=5.0),
    "arm-writes-per-subscription": Rate(per_second=10.0, burst=200.0),
    "graph-writes-per-application": Rate(per_second=1.0, burst=5.0),
}
DEFAULT_DATAVERSE_CONCURRENCY = 8  # well under the 52 concurrent requests Dataverse allows per user


@dataclass(frozen=True)
class PaceKey:
    """One bucket a request draws from: a kind from the rate table and what it is counted per."""

    kind: str
    key: str


class TokenBucket:
    """A rate limiter that waits (on the injected clock) instead of refusing."""

    def __init__(self, rate: Rate, clock: Clock) -> None:
        self._ceiling = rate.per_second
        self._floor = rate.per_second / 16
        self.per_second = rate.per_second
        self._burst = rate.burst
        self._tokens = rate.burst
        self._clock = clock
        self._stamp = clock.now()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self._tokens >= 1 - 1e-9:  # tolerate float rounding in the refill arithmetic
                    self._tokens -= 1
                    return
                await self._clock.sleep((1 - self._tokens) / self.per_second)

    def throttled(self) -> None:
        """The service said 429: halve the rate and spend what is left of the burst."""
        self.per_second = max(self._floor, self.per_second / 2)
        self._tokens = min(self._tokens, 0.0)

    def succeeded(self) -> None:
        self.per_second = min(self._ceiling, self.per_second + self._ceiling / 20)

    def _refill(self) -> None:
        now = self._clock.now()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self.per_second)
        self._stamp = now


class Pacing:
    """Every bucket and concurrency cap of one process, created on first use."""

    def __init__(
        self,
        clock: Clock,
        rates: Mapping[str, Rate] = DEFAULT_RATES,
        dataverse_concurrency: int = DEFAULT_DATAVERSE_CONCURRENCY,
    ) -> None:
        self._clock = clock
        self._rates = dict(rates)
        self._buckets: dict[PaceKey, TokenBucket] = {}
        self._dataverse_concurrency = dataverse_concurrency
        self._concurrency: dict[str, asyncio.Semaphore] = {}

    def bucket(self, pace: PaceKey) -> TokenBucket:
        bucket = self._buckets.get(pace)
        if bucket is None:
            bucket = self._buckets[pace] = TokenBucket(self._rates[pace.kind], self._clock)
        return bucket

    @asynccontextmanager
    async def concurrency(self, organisation: str | None) -> AsyncIterator[None]:
        """Hold one of the organisation's concurrent-request slots (no-op when `organisation` is None)."""
        if organisation is None:
            yield
            return
        semaphore = self._concurrency.setdefault(organisation, asyncio.Semaphore(self._dataverse_concurrency))
        async with semaphore:
            yield
