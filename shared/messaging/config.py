"""Settings of message handling: attempt limit, the growing delay between attempts, reply session, and the
Functions host's session timings the app infers its session holds from."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from shared.errors import ConfigurationError

DEFAULT_REPLY_SESSION = "ppmi-default"


@dataclass(frozen=True)
class MessagingSettings:
    """Read with `MessagingSettings.from_env()`; every error names the variable to fix."""

    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    default_reply_session: str = DEFAULT_REPLY_SESSION
    discovery_lookback: timedelta = timedelta(hours=1)
    intake_principals: frozenset[str] = frozenset()
    # App Service injects WEBSITE_AUTH_ENABLED (read-only) when its authentication is on (Learn, "Environment
    # variables and app settings reference", reference-app-settings); only then are X-MS-CLIENT-PRINCIPAL-*
    # headers set by the platform and never by the caller (Learn, configure-authentication-user-identities).
    app_service_authentication: bool = False
    # host.json's `sessionIdleTimeout` and `maxAutoLockRenewalDuration` (tests/functions pin them equal).
    session_idle_seconds: float = 2.0
    session_lock_renewal_seconds: float = 3600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MessagingSettings:
        env = os.environ if environ is None else environ
        base = _number(env, "PPMI_RETRY_BASE_SECONDS", cls.retry_base_seconds)
        return cls(
            max_attempts=int(_number(env, "PPMI_MAX_ATTEMPTS", cls.max_attempts)),
            retry_base_seconds=base,
            retry_max_seconds=max(base, _number(env, "PPMI_RETRY_MAX_SECONDS", cls.retry_max_seconds)),
            default_reply_session=env.get("PPMI_DEFAULT_REPLY_SESSION") or DEFAULT_REPLY_SESSION,
            discovery_lookback=timedelta(
                minutes=_number(env, "PPMI_DISCOVERY_LOOKBACK_MINUTES", cls.discovery_lookback.seconds / 60)
            ),
            intake_principals=frozenset(
                item.strip().lower()
                for item in env.get("PPMI_INTAKE_ALLOWED_PRINCIPALS", "").split(",")
                if item.strip()
            ),
            app_service_authentication=env.get("WEBSITE_AUTH_ENABLED", "").strip().lower() == "true",
            session_idle_seconds=_number(env, "PPMI_SESSION_IDLE_SECONDS", cls.session_idle_seconds),
            session_lock_renewal_seconds=_number(
                env, "PPMI_SESSION_LOCK_RENEWAL_SECONDS", cls.session_lock_renewal_seconds
            ),
        )

    def retry_delay(self, attempt: int, retry_after: float) -> timedelta:
        """Delay before attempt `attempt + 1`: doubling from the base, capped, never below `Retry-After`."""
        doubling = self.retry_base_seconds * 2 ** max(attempt - 1, 0)
        return timedelta(seconds=max(min(doubling, self.retry_max_seconds), retry_after))


def _number(env: Mapping[str, str], variable: str, default: float) -> float:
    value = env.get(variable)
    if not value:
        return float(default)
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{variable} must be a number, got {value!r}") from None
    if number <= 0:
        raise ConfigurationError(f"{variable} must be positive, got {value!r}")
    return number
