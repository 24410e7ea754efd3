"""HTTP intake: check the caller, validate the event, and say what to enqueue on `ppmi-events`.

The function key (`auth_level=FUNCTION`) is the floor. With App Service Authentication (Entra) in front, the
platform verifies the caller's token and sets `X-MS-CLIENT-PRINCIPAL-ID` (the caller's object ID);
"external requests aren't allowed to set these headers, so they're present only if set by App Service" (Learn,
configure-authentication-user-identities). That holds only while the authentication is on, which the platform
signals with `WEBSITE_AUTH_ENABLED` (Learn, reference-app-settings): without it anyone holding the function
key could write the header. So with `PPMI_INTAKE_ALLOWED_PRINCIPALS` set and the authentication off, every
request is refused (fail closed) with the reason, rather than the header being believed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.events import EventValidationError, parse_event
from shared.messaging.config import MessagingSettings
from shared.messaging.envelope import EVENTS_QUEUE, OutgoingMessage
from shared.telemetry import get_logger

PRINCIPAL_HEADER = "x-ms-client-principal-id"
NOT_AUTHENTICATED = (
    "the intake admits only PPMI_INTAKE_ALLOWED_PRINCIPALS, which needs App Service Authentication, but "
    "it is not enabled on this app (WEBSITE_AUTH_ENABLED is not true): enable it (Entra ID), or unset "
    "PPMI_INTAKE_ALLOWED_PRINCIPALS to rely on the function key alone"
)
LOG = get_logger("shared.messaging.intake")
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII)


@dataclass(frozen=True)
class IntakeReply:
    """The HTTP answer, and the message to send first when the event was accepted."""

    status: int
    body: dict[str, str]
    message: OutgoingMessage | None = None


def accept_event(body: bytes, headers: Mapping[str, str], settings: MessagingSettings) -> IntakeReply:
    if settings.intake_principals:
        refused = _refused_caller(headers, settings)
        if refused is not None:
            return refused
    try:
        event = parse_event(body)
    except EventValidationError as error:
        return IntakeReply(400, {"error": error.reason, "field": error.field or ""})
    message = OutgoingMessage(
        queue=EVENTS_QUEUE,
        body=body,
        message_id=event.id,
        reply_to_session_id=event.reply_session,
        subject=event.type,
    )
    return IntakeReply(202, {"id": event.id, "queue": EVENTS_QUEUE}, message)


def _refused_caller(headers: Mapping[str, str], settings: MessagingSettings) -> IntakeReply | None:
    if not settings.app_service_authentication:
        LOG.error("intake.not_authenticated", reason=NOT_AUTHENTICATED)
        return IntakeReply(503, {"error": NOT_AUTHENTICATED})
    lowered = {key.lower(): value for key, value in headers.items()}
    principal = lowered.get(PRINCIPAL_HEADER, "").strip().lower()
    if not principal:
        return IntakeReply(401, {"error": "sign in with Entra ID (App Service Authentication)"})
    if principal not in settings.intake_principals:
        shown = principal if _GUID.fullmatch(principal) else "this caller"
        return IntakeReply(403, {"error": f"principal {shown} may not post events"})
    return None
