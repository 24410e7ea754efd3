"""The one async HTTP layer: auth, timeouts, retries honouring `Retry-After`, pacing, error classes."""

from shared.http._client import Backoff, Call, HttpClient, RetryNotice, retry_after_seconds
from shared.http._clock import Clock, SystemClock, VirtualClock
from shared.http._pacing import (
    DEFAULT_RATES,
    PROVIDER_RATES,
    PaceKey,
    Pacing,
    Rate,
    TokenBucket,
    call_pace,
    provider_pace,
    provider_rate,
)
from shared.http._transport import ConnectToTransport, build_transport, tls_context

__all__ = [
    "DEFAULT_RATES",
    "PROVIDER_RATES",
    "Backoff",
    "Call",
    "Clock",
    "ConnectToTransport",
    "HttpClient",
    "PaceKey",
    "Pacing",
    "Rate",
    "RetryNotice",
    "SystemClock",
    "TokenBucket",
    "VirtualClock",
    "build_transport",
    "call_pace",
    "provider_pace",
    "provider_rate",
    "retry_after_seconds",
    "tls_context",
]
