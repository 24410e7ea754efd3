"""Client-side pacing: stay under documented service limits instead of bouncing off them.

Token buckets (rate per second, burst) per kind and key, e.g. managed-identity writes per subscription
and per identity, ARM writes per subscription; a concurrency cap per Dataverse organisation. A 429 halves
the throttled bucket's rate and holds it for its `Retry-After`; every success wins back a twentieth of the
configured rate, so recovery is slow (AIMD).

Calls to the managed identity provider are paced by their URL (`provider_pace`): every get, list, write and
delete draws from the provider's bucket for its subscription and, when it addresses one identity (or that
identity's federated credentials), from the identity's bucket, as the provider counts them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.http._clock import Clock


@dataclass(frozen=True)
class Rate:
    """A token-bucket limit: `per_second` sustained, `burst` at once."""

    per_second: float
    burst: float


# Documented limits (domain reference §4): the managed identity provider counts requests per subscription and
# per resource (an identity, with its federated credentials) in buckets holding max(1, rate) tokens; ARM
# writes refill 10/s with a burst of 200 per subscription. Client bursts stay half a token under the
# provider's: the latency jitter between two paced requests never finds its bucket empty, and a request
# that starts a little late (a busy event loop) keeps the rest of its interval instead of losing it.
PROVIDER_RATES: Mapping[str, float] = {
    "managed-identity-writes-per-subscription": 2.0,
    "managed-identity-writes-per-identity": 0.25,
    "managed-identity-reads-per-subscription": 10.0,
    "managed-identity-reads-per-identity": 0.5,
    "managed-identity-lists-per-subscription": 5.0,
    "managed-identity-lists-per-identity": 0.25,
    "managed-identity-deletes-per-subscription": 2.0,
    "managed-identity-deletes-per-identity": 0.25,
}
IDENTITY_MARGIN = 0.9  # a bucket of one token has no spare: pace per identity a tenth under the limit
BURST_MARGIN = 0.5  # tokens the client leaves in the provider's bucket for latency jitter


def provider_rate(kind: str, scale: float = 1.0) -> Rate:
    """The client's bucket for a provider limit: `scale` times the documented rate, a small burst."""
    documented = PROVIDER_RATES[kind]
    per_identity = kind.endswith("-per-identity")
    per_second = documented * scale * (IDENTITY_MARGIN if per_identity else 1.0)
    return Rate(per_second=per_second, burst=max(1.0, max(1.0, documented) - BURST_MARGIN))


DEFAULT_RATES: Mapping[str, Rate] = {
    **{kind: provider_rate(kind) for kind in PROVIDER_RATES},
    "arm-writes-per-subscription": Rate(per_second=10.0, burst=200.0),
    "graph-writes-per-application": Rate(per_second=1.0, burst=5.0),
}
DEFAULT_DATAVERSE_CONCURRENCY = 8  # well under the 52 concurrent requests Dataverse allows per user

_PROVIDER_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)(?:/resourceGroups/[^/]+)?/providers/Microsoft\.ManagedIdentity/"
    r"userAssignedIdentities(?:/(?P<name>[^/]+)(?P<fics>/federatedIdentityCredentials(?P<fic>/[^/]+)?)?)?/?$",
    re.IGNORECASE,
)
_PROVIDER_OPERATIONS = {"PUT": "writes", "PATCH": "writes", "POST": "writes", "DELETE": "deletes"}


@dataclass(frozen=True)
class PaceKey:
    """One bucket a request draws from: a kind from the rate table and what it is counted per."""

    kind: str
    key: str

    @property
    def per_identity(self) -> bool:
        return self.kind.endswith("-per-identity")


def provider_pace(method: str, path: str) -> tuple[PaceKey, ...]:
    """The managed identity provider's buckets a request to `path` draws from; () for any other path.

    Listing a resource group's identities is a subscription-level list; listing one identity's federated
    credentials is a list on that identity; a credential's get or write counts against its identity.
    """
    match = _PROVIDER_PATH.match(path)
    if match is None:
        return ()
    name, fics, fic = match["name"], match["fics"], match["fic"]
    operation = _PROVIDER_OPERATIONS.get(method.upper(), "reads")
    if operation == "reads" and (name is None or (fics and fic is None)):
        operation = "lists"
    subscription = match["sub"].lower()
    keys = [PaceKey(f"managed-identity-{operation}-per-subscription", subscription)]
    if name is not None:
        identity = path[: match.start("name")] + name
        keys.insert(0, PaceKey(f"managed-identity-{operation}-per-identity", identity.lower()))
    return tuple(keys)


def call_pace(method: str, path: str, given: tuple[PaceKey, ...]) -> tuple[PaceKey, ...]:
    """The buckets of a call, narrowest first: the provider's from the URL, then the caller's others.

    Narrowest first, so a request waiting for its identity's bucket does not hold a subscription token
    it would spend only seconds later (the provider would then see two requests at once).
    """
    derived = provider_pace(method, path)
    if derived:
        given = tuple(key for key in given if not key.kind.startswith("managed-identity-"))
    keys = derived + tuple(key for key in given if key not in derived)
    return tuple(sorted(keys, key=lambda key: not key.per_identity))


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
        self._not_before = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                held = self._not_before - self._clock.now()
                if held > 0:
                    await self._clock.sleep(held)
                    continue
                self._refill()
                if self._tokens >= 1 - 1e-9:  # tolerate float rounding in the refill arithmetic
                    self._tokens -= 1
                    return
                await self._clock.sleep((1 - self._tokens) / self.per_second)

    def throttled(self, retry_after: float = 0.0) -> None:
        """The service said 429: halve the rate, spend what is left of the burst, wait out `Retry-After`."""
        self.per_second = max(self._floor, self.per_second / 2)
        self._tokens = min(self._tokens, 0.0)
        self._not_before = max(self._not_before, self._clock.now() + retry_after)

    def seconds_until_free(self) -> float:
        """How long until this bucket next has a token: a 429 hold-back's end counts, waiters do not."""
        self._refill()
        held = max(0.0, self._not_before - self._clock.now())
        return max(held, (1 - self._tokens) / self.per_second if self._tokens < 1 else 0.0)

    def sent_now(self) -> None:
        """The request that took a token is only now leaving: the next token is counted from now.

        A request takes its identity's token before waiting for its subscription's; the provider counts
        the request when it arrives, so the identity's interval starts after that wait.
        """
        self._refill()
        self._tokens = min(self._tokens, self._burst - 1)

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

    async def acquire(self, paces: tuple[PaceKey, ...]) -> None:
        """A token from each bucket, narrowest first; those taken before a wait are charged from its end."""
        taken: list[TokenBucket] = []
        for pace in paces:
            bucket = self.bucket(pace)
            before = self._clock.now()
            await bucket.acquire()
            if self._clock.now() > before:
                for earlier in taken:
                    earlier.sent_now()
            taken.append(bucket)

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
