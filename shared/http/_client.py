"""The one way ppmi talks HTTP: auth header, timeouts, pacing, classified errors, retries in a budget."""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from shared.auth import TokenSource
from shared.errors import (
    ConfigurationError,
    PermanentError,
    Retry,
    ServiceError,
    TransientError,
    classify,
    service_error,
)
from shared.http._clock import Clock, SystemClock
from shared.http._pacing import PaceKey, Pacing, call_pace
from shared.settings import is_loopback
from shared.telemetry import instrument_http_client, record_retry


@dataclass(frozen=True)
class RetryNotice:
    """A call about to be tried again, and the wait before it: for whoever shows progress (the CLI)."""

    service: str
    call: str
    status: int | None
    code: str
    wait_seconds: float


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff; slow retries start from a floor because races need time to settle."""

    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    slow_floor_seconds: float = 2.0  # FIC 409 and PrincipalNotFound settle in seconds, not milliseconds

    def seconds(self, attempt: int, retry: Retry, rng: random.Random) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2**attempt)
        floor = self.slow_floor_seconds if retry is Retry.RETRYABLE_SLOWLY else 0.0
        return floor + rng.uniform(0, ceiling)


@dataclass(frozen=True)
class Call:
    """One request to a service, described well enough to retry it and to explain its failure."""

    service: str
    method: str
    url: str
    template: str  # path with placeholders, used in errors and telemetry instead of the real path
    scope: str | None = None  # token scope; None sends no Authorization header
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    pace: tuple[PaceKey, ...] = ()
    organisation: str | None = None  # Dataverse organisation whose concurrency cap applies
    idempotent: bool | None = (
        None  # None: every method but POST is (ppmi's PATCHes carry If-Match / If-None-Match)
    )

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def repeatable(self) -> bool:
        """Whether sending it twice is harmless, so a 5xx or a lost reply may be answered by resending."""
        return self.idempotent if self.idempotent is not None else self.method.upper() != "POST"


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """`Retry-After` as seconds to wait: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    wall = time.time() if now is None else now
    return max(0.0, moment.timestamp() - wall)


def _error_detail(response: httpx.Response) -> tuple[str, str]:
    """The service's own (code, message) from the ARM / Graph / Dataverse error body, or the raw text."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:500]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or ""), str(error.get("message") or "")
    if isinstance(body, dict) and "code" in body:
        return str(body.get("code") or ""), str(body.get("message") or "")
    return "", response.text[:500]


class HttpClient:
    """Owns the httpx client; every service client sends through `send`."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport,
        tokens: TokenSource | None,
        pacing: Pacing,
        clock: Clock | None = None,
        timeout_seconds: float = 30.0,
        retry_budget_seconds: float = 60.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout_seconds, follow_redirects=False)
        instrument_http_client(self._client)
        self._tokens = tokens
        self.pacing = pacing
        self.clock = clock or SystemClock()
        self._budget = retry_budget_seconds
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._not_before: dict[str, float] = {}
        self.on_retry: Callable[[RetryNotice], None] | None = None  # told before each wait for a retry

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(self, call: Call) -> httpx.Response:
        """Send `call`, retrying transient failures until the retry budget is spent.

        Raises a `ServiceError` subclass; a `TransientServiceError` escapes only with the budget spent,
        and its `retry_after` says how long the caller should wait before trying again.
        """
        _refuse_ambiguous_path(call)
        url = httpx.URL(call.url)
        if url.scheme != "https" and not is_loopback(url.host):
            raise ConfigurationError(f"refusing to send {call.name} over {url.scheme}:// to {url.host}")
        deadline = self.clock.now() + self._budget
        attempt = 0
        while True:
            try:
                return await self._attempt(call, url)
            except TransientError as error:  # throttling, 5xx, races, network, token endpoint hiccups
                retry, reason = Retry.RETRYABLE, "token"
                if isinstance(error, ServiceError):
                    reason = error.code or str(error.status)
                    if error.status is not None:
                        retry = classify(error.status, error.code)
                    if not call.repeatable and error.status != 429:  # a 429 was refused unprocessed
                        raise
                delay = max(error.retry_after, self._backoff.seconds(attempt, retry, self._rng))
                if self.clock.now() + delay > deadline:
                    error.retry_after = delay
                    raise
                attempt += 1
                record_retry(call.service, reason)
                if self.on_retry is not None:
                    status = error.status if isinstance(error, ServiceError) else None
                    code = error.code if isinstance(error, ServiceError) else "token"
                    self.on_retry(RetryNotice(call.service, call.name, status, code, delay))
                await self.clock.sleep(delay)

    async def _attempt(self, call: Call, url: httpx.URL) -> httpx.Response:
        scope = _pause_scope(url)
        wait = self._not_before.get(scope, 0.0) - self.clock.now()
        if wait > 0:
            await self.clock.sleep(wait)
        paces = call_pace(call.method, url.path, call.pace)
        await self.pacing.acquire(paces)
        headers = dict(call.headers)
        if call.scope is not None and self._tokens is not None:
            headers["Authorization"] = f"Bearer {await self._tokens.token(call.scope)}"
        async with self.pacing.concurrency(call.organisation):
            try:
                response = await self._client.request(call.method, url, json=call.json, headers=headers)
            except httpx.TimeoutException as error:
                raise self._network_error(call, "Timeout", error) from error
            except httpx.TransportError as error:
                raise self._network_error(call, "ConnectionError", error) from error
        if response.is_success:
            for pace in paces:
                self.pacing.bucket(pace).succeeded()
            return response
        return self._raise_for(call, scope, paces, response)

    def _raise_for(
        self, call: Call, scope: str, paces: tuple[PaceKey, ...], response: httpx.Response
    ) -> httpx.Response:
        code, message = _error_detail(response)
        retry = classify(response.status_code, code)
        retry_after = retry_after_seconds(response.headers.get("Retry-After")) or 0.0
        throttled = _throttled_buckets(response.status_code, code, paces)
        for pace in throttled:
            self.pacing.bucket(pace).throttled(retry_after)
        if retry_after and not throttled:
            # Nothing narrower to blame (ARM's subscription-wide 429, a 503, an unpaced service): hold back
            # every call to the same host and subscription.
            self._not_before[scope] = max(self._not_before.get(scope, 0.0), self.clock.now() + retry_after)
        raise service_error(
            retry,
            service=call.service,
            call=call.name,
            status=response.status_code,
            code=code,
            message=message,
            retry_after=retry_after,
        )

    @staticmethod
    def _network_error(call: Call, code: str, error: Exception) -> ServiceError:
        return service_error(
            Retry.RETRYABLE,
            service=call.service,
            call=call.name,
            status=None,
            code=code,
            message=f"{httpx.URL(call.url).host}: {str(error) or code}",
        )


_ENCODED_SEPARATOR = re.compile(r"%(?:2f|2e|5c)", re.IGNORECASE)


def _refuse_ambiguous_path(call: Call) -> None:
    """A path must reach exactly the resource it names: httpx resolves `.` and `..` segments (RFC 3986
    remove_dot_segments) and services may decode `%2F`, so a role-assignment URL built on a scope like
    `/subscriptions/s/resourceGroups/rg/..` would land on the whole subscription. Such paths are never sent.
    """
    path = urlsplit(call.url).path
    segments = path.split("/")[1:]
    if path in ("", "/"):
        return
    problem = None
    if any(segment in (".", "..") for segment in segments):
        problem = "has a '.' or '..' segment"
    elif "" in segments:
        problem = "has an empty segment"
    elif _ENCODED_SEPARATOR.search(path):
        problem = "holds an encoded '/', '.' or '\\'"
    if problem is not None:
        raise PermanentError(
            f"refusing to send {call.name}: its path {problem}, which would resolve to another resource"
        )


SUBSCRIPTION_THROTTLED = "SubscriptionRequestsThrottled"  # ARM's own bucket for the whole subscription
_SUBSCRIPTION_IN_PATH = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def _pause_scope(url: httpx.URL) -> str:
    """What a `Retry-After` without a narrower bucket holds back: the host, and the subscription on ARM."""
    subscription = _SUBSCRIPTION_IN_PATH.match(url.path)
    return f"{url.host}/{subscription[1].lower()}" if subscription else url.host


def _throttled_buckets(status: int, code: str, paces: tuple[PaceKey, ...]) -> tuple[PaceKey, ...]:
    """The buckets a 429 is blamed on: the identity's when the call has one, else all of the call's.

    One identity's throttling must not slow or stall the calls of every other identity; ARM's
    subscription-wide refusal is not any bucket's, and holds back the subscription instead.
    """
    if status != 429 or code == SUBSCRIPTION_THROTTLED:
        return ()
    narrowest = tuple(pace for pace in paces if pace.per_identity)
    return narrowest or paces
