"""The one error taxonomy: every failure says which service and call, what it answered, whether to retry.

PpmiError
 ├── InvalidInputError ............ the request can never succeed as given → `rejected`, no retry
 │    └── MissingResourceGroup .... ARM: the identity resource group does not exist
 ├── TransientError ............... worth another try later; carries `retry_after` (seconds)
 │    ├── TransientServiceError ... a service answered 429 / 5xx / a known race, or the network failed
 │    └── PropagationPending ...... new FICs must propagate in Entra before the row asks for them
 ├── PermanentError ............... retrying will not help → `failed`, no retry
 │    ├── ConfigurationError ...... settings or environment variables are wrong
 │    └── PermanentServiceError ... a service answered 400 / 403 / ... with a non-retryable code
 │         ├── MissingRight ....... ARM 403 AuthorizationFailed: ppmi's identity lacks a role assignment
 │         ├── ResourceNotFoundError
 │         └── ResourceExistsError  (the caller may treat it as "already done")
 └── (ServiceError) ............... mixin base of every *ServiceError: service, call, status, code, message

`classify(status, code)` decides between the branches from the table below; the HTTP layer is its only caller.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from shared.telemetry import redact

MAX_SERVICE_MESSAGE = 1000


class PpmiError(Exception):
    """Base of every error ppmi raises on purpose."""


class InvalidInputError(PpmiError):
    """The event or its target is invalid: reject it with `reason`, never retry."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class TransientError(PpmiError):
    """Worth retrying; `retry_after` is the least wait in seconds before the next try."""

    def __init__(self, message: str, *, retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PropagationPending(TransientError):
    """FICs were just created for a row that is about to ask for them: Entra needs time to propagate them
    (`AADSTS70021` meanwhile), so the rest waits `retry_after` seconds."""


class PermanentError(PpmiError):
    """Retrying will not help: the operation failed."""


class ConfigurationError(PermanentError):
    """A setting is missing or wrong; the message names the variable."""


class MissingResourceGroup(InvalidInputError):
    """ARM answered 404 `ResourceGroupNotFound`: the identities' resource group does not exist (yet)."""


class ServiceError(PpmiError):
    """A call to a cloud service failed; says which service, which call and what the service answered."""

    service: str
    call: str
    status: int | None
    code: str
    service_message: str

    def _describe(self, service: str, call: str, status: int | None, code: str, message: str) -> str:
        self.service = service
        self.call = call
        self.status = status
        self.code = code
        message = redact(message)  # services echo what they were sent, tokens included
        if len(message) > MAX_SERVICE_MESSAGE:  # a stack trace in a 500 says nothing more past this
            message = message[:MAX_SERVICE_MESSAGE] + " ..."
        self.service_message = message
        answered = f"HTTP {status}" if status is not None else "no answer"
        detail = f" {code}" if code else ""
        return f"{service} {call}: {answered}{detail}: {message}".rstrip(": ")


class TransientServiceError(ServiceError, TransientError):
    """A service asked us to come back later (throttling, 5xx, a replication or concurrency race)."""

    def __init__(
        self,
        *,
        service: str,
        call: str,
        status: int | None,
        code: str,
        message: str,
        retry_after: float = 0.0,
    ) -> None:
        TransientError.__init__(
            self, self._describe(service, call, status, code, message), retry_after=retry_after
        )


class PermanentServiceError(ServiceError, PermanentError):
    """A service refused the call for a reason that retrying will not change."""

    def __init__(self, *, service: str, call: str, status: int | None, code: str, message: str) -> None:
        PermanentError.__init__(self, self._describe(service, call, status, code, message))


class MissingRight(PermanentServiceError):
    """ARM answered 403 `AuthorizationFailed`: ppmi's identity may not do `action` at `scope`."""

    def __init__(self, *, call: str, message: str, action: str, scope: str) -> None:
        super().__init__(service="arm", call=call, status=403, code="AuthorizationFailed", message=message)
        self.action = action
        self.scope = scope


class ResourceNotFoundError(PermanentServiceError):
    """The resource does not exist (404)."""


class ResourceExistsError(PermanentServiceError):
    """The resource already exists (409 `RoleAssignmentExists`, Dataverse 412 on create-only)."""


class Retry(enum.Enum):
    """What to do with a failed call."""

    RETRYABLE = "retryable"
    RETRYABLE_SLOWLY = "retryable-slowly"  # races that need seconds to settle: back off from a higher floor
    FATAL = "fatal"
    NOT_FOUND = "not-found"
    ALREADY_EXISTS = "already-exists"


@dataclass(frozen=True)
class _Rule:
    status: int | None  # None: any status
    code: str | None  # None: any code; compared case-insensitively
    retry: Retry


# First match wins: specific (status, code) pairs before status-only rules.
CLASSIFICATION: tuple[_Rule, ...] = (
    _Rule(
        409, "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity", Retry.RETRYABLE_SLOWLY
    ),
    _Rule(409, "RoleAssignmentExists", Retry.ALREADY_EXISTS),
    _Rule(None, "PrincipalNotFound", Retry.RETRYABLE_SLOWLY),
    _Rule(None, "Directory_ConcurrencyViolation", Retry.RETRYABLE_SLOWLY),
    _Rule(None, "Request_MultipleObjectsWithSameKeyValue", Retry.ALREADY_EXISTS),
    _Rule(412, None, Retry.ALREADY_EXISTS),  # Dataverse create-only (If-None-Match: *) on an existing row
    # ARM 404s that do not mean "this resource is absent": a missing container or role (any status).
    _Rule(None, "ResourceGroupNotFound", Retry.FATAL),
    _Rule(None, "RoleDefinitionDoesNotExist", Retry.FATAL),
    _Rule(404, None, Retry.NOT_FOUND),
    _Rule(408, None, Retry.RETRYABLE),
    _Rule(429, None, Retry.RETRYABLE),
    _Rule(500, None, Retry.RETRYABLE),
    _Rule(502, None, Retry.RETRYABLE),
    _Rule(503, None, Retry.RETRYABLE),
    _Rule(504, None, Retry.RETRYABLE),
)


def classify(status: int, code: str) -> Retry:
    """Look a failed reply up in the classification table; anything unlisted (400, 401, 403, ...) is fatal."""
    for rule in CLASSIFICATION:
        if rule.status is not None and rule.status != status:
            continue
        if rule.code is not None and rule.code.lower() != code.lower():
            continue
        return rule.retry
    return Retry.FATAL


def service_error(
    retry: Retry,
    *,
    service: str,
    call: str,
    status: int | None,
    code: str,
    message: str,
    retry_after: float = 0.0,
) -> ServiceError:
    """Build the error class that matches a classification."""
    if retry in (Retry.RETRYABLE, Retry.RETRYABLE_SLOWLY):
        return TransientServiceError(
            service=service, call=call, status=status, code=code, message=message, retry_after=retry_after
        )
    kind: type[PermanentServiceError] = {
        Retry.NOT_FOUND: ResourceNotFoundError,
        Retry.ALREADY_EXISTS: ResourceExistsError,
    }.get(retry, PermanentServiceError)
    return kind(service=service, call=call, status=status, code=code, message=message)
