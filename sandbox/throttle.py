"""Rate limits as token buckets (ARM, managed identity provider) and Dataverse service protection."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

from sandbox.config import ArmBuckets, DataverseLimits, ManagedIdentityRates


def retry_after_value(wait_seconds: float, time_scale: float) -> str:
    """Whole seconds as Azure sends them; at a scaled time, decimal seconds so benchmarks do not stall."""
    if time_scale == 1.0:
        return str(max(1, math.ceil(wait_seconds)))
    return f"{max(wait_seconds, 0.001):.3f}"


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = max(self.updated, now)

    def take(self, now: float, *, enforce: bool) -> float:
        """Spend one token; the wait until one is available when refused (0.0 when granted)."""
        self._refill(now)
        if self.tokens >= 1.0 or not enforce:
            self.tokens = max(0.0, self.tokens - 1.0)
            return 0.0
        return (1.0 - self.tokens) / self.refill_per_second

    def remaining(self) -> int:
        return int(self.tokens)


ARM_KIND = {"read": "reads", "list": "reads", "write": "writes", "action": "writes", "delete": "deletes"}


@dataclass(frozen=True)
class Throttled:
    code: str
    message: str
    retry_after: str


class ArmThrottle:
    """Subscription buckets reported on every reply; identity-provider rates per subscription and identity."""

    def __init__(self, buckets: ArmBuckets, rates: ManagedIdentityRates) -> None:
        self._buckets_config = buckets
        self._rates = rates
        self._arm: dict[tuple[str, str], TokenBucket] = {}
        self._provider: dict[tuple[str, str], TokenBucket] = {}

    def _arm_bucket(self, subscription: str, kind: str, time_scale: float) -> TokenBucket:
        key = (subscription.lower(), kind)
        if key not in self._arm:
            cfg = self._buckets_config
            burst, refill = {
                "reads": (cfg.read_burst, cfg.read_refill),
                "writes": (cfg.write_burst, cfg.write_refill),
                "deletes": (cfg.delete_burst, cfg.delete_refill),
            }[kind]
            self._arm[key] = TokenBucket(burst, refill * time_scale)
        return self._arm[key]

    def _provider_bucket(self, scope: str, key: str, operation: str, time_scale: float) -> TokenBucket:
        bucket_key = (f"{scope}:{key.lower()}", operation)
        if bucket_key not in self._provider:
            rate: float = getattr(self._rates, f"{operation}_per_{scope}")
            self._provider[bucket_key] = TokenBucket(max(1.0, rate), rate * time_scale)
        return self._provider[bucket_key]

    def admit(
        self,
        *,
        subscription: str,
        operation: str,
        provider: bool,
        identity_key: str | None,
        enforce: bool,
        time_scale: float,
    ) -> tuple[Throttled | None, str, int]:
        """Charge one request: (refusal or None, header kind, what is left in the subscription bucket).

        `provider` calls (Microsoft.ManagedIdentity) also draw from the provider's tenant and subscription
        buckets, and from one identity's when `identity_key` names the identity the call addresses.
        """
        now = time.monotonic()
        kind = ARM_KIND.get(operation, "reads")
        bucket = self._arm_bucket(subscription, kind, time_scale)
        wait = bucket.take(now, enforce=enforce)
        if wait:
            message = f"Number of '{kind}' requests for subscription '{subscription}' exceeded the limit."
            return (
                Throttled("SubscriptionRequestsThrottled", message, retry_after_value(wait, time_scale)),
                kind,
                0,
            )
        if provider:
            provider_op = "write" if operation == "action" else operation
            scopes = [("tenant", "tenant"), ("subscription", subscription)]
            if identity_key is not None:
                scopes.append(("identity", identity_key))
            for scope, key in scopes:
                wait = self._provider_bucket(scope, key, provider_op, time_scale).take(now, enforce=enforce)
                if wait:
                    message = (
                        f"Too many '{provider_op}' requests to Microsoft.ManagedIdentity for this {scope}; "
                        "retry after the indicated time."
                    )
                    return (
                        Throttled("TooManyRequests", message, retry_after_value(wait, time_scale)),
                        kind,
                        (bucket.remaining()),
                    )
        return None, kind, bucket.remaining()


@dataclass
class _UserWindow:
    started: deque[float] = field(default_factory=deque)
    executions: deque[tuple[float, float]] = field(default_factory=deque)
    in_flight: int = 0


class DataverseProtection:
    """Per user and organisation: request count, execution time and concurrency over a sliding window."""

    def __init__(self, limits: DataverseLimits) -> None:
        self._limits = limits
        self._users: dict[tuple[str, str], _UserWindow] = {}

    def enter(self, org_host: str, app_id: str, time_scale: float) -> Throttled | None:
        limits = self._limits
        window = limits.window_seconds / time_scale
        user = self._users.setdefault((org_host, app_id), _UserWindow())
        now = time.monotonic()
        while user.started and user.started[0] <= now - window:
            user.started.popleft()
        while user.executions and user.executions[0][0] <= now - window:
            user.executions.popleft()
        if user.in_flight >= limits.max_concurrent:
            return Throttled(
                "0x80072326",
                f"Number of concurrent requests exceeded the limit of {limits.max_concurrent}.",
                retry_after_value(1.0 / time_scale, time_scale),
            )
        if len(user.started) >= limits.max_requests:
            wait = user.started[0] + window - now
            return Throttled(
                "0x80072322",
                f"Number of requests exceeded the limit of {limits.max_requests} over time window of "
                f"{int(limits.window_seconds)} seconds.",
                retry_after_value(wait, time_scale),
            )
        if sum(duration for _, duration in user.executions) >= limits.max_execution_seconds / time_scale:
            wait = user.executions[0][0] + window - now
            return Throttled(
                "0x80072321",
                f"Combined execution time of incoming requests exceeded limit of "
                f"{int(limits.max_execution_seconds * 1000)} milliseconds over time window of "
                f"{int(limits.window_seconds)} seconds.",
                retry_after_value(wait, time_scale),
            )
        user.in_flight += 1
        user.started.append(now)
        return None

    def leave(self, org_host: str, app_id: str, elapsed: float) -> None:
        user = self._users.get((org_host, app_id))
        if user is None:
            return
        user.in_flight = max(0, user.in_flight - 1)
        user.executions.append((time.monotonic(), elapsed))
