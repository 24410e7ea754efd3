"""HTTP intake: check the caller, validate the event, and say what to enqueue on `ppmi-events`.

The function key (`auth_level=FUNCTION`) is the floor. With App Service Authentication (Entra) in front, the
platform verifies the caller's token and sets `X-MS-CLIENT-PRINCIPAL-ID` (it strips that header from incoming
requests); `PPMI_INTAKE_ALLOWED_PRINCIPALS` then lists the object IDs allowed to post events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.events import EventValidationError, parse_event
from shared.messaging.config import MessagingSettings
from shared.messaging.envelope import EVENTS_QUEUE, OutgoingMessage

PRINCIPAL_HEADER = "x-ms-client-principal-id"


@dataclass(frozen=True)
class IntakeReply:
    """The HTTP answer, and the message to send first when the event was accepted."""

    status: int
    body: dict[str, str]
    message: OutgoingMessage | None = None


def accept_event(body: bytes, headers: Mapping[str, str], settings: MessagingSettings) -> IntakeReply:
    if settings.intake_principals:
        principal = {key.lower(): value for key, value in headers.items()}.get(PRINCIPAL_HEADER, "").lower()
        if not principal:
            return IntakeReply(401, {"error": "sign in with Entra ID (App Service Authentication)"})
        if principal not in settings.intake_principals:
            return IntakeReply(403, {"error": f"principal {principal} may not post events"})
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
