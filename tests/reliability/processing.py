"""The message processor as both hosts run it, in process: route an intake event, then provision it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.engine import Runtime
from shared.messaging import IncomingMessage, MessagingSettings, Outcome
from shared.messaging.disposition import Disposition
from shared.messaging.envelope import EVENTS_QUEUE, WORK_QUEUE
from shared.messaging.processing import provision, route_event


async def through_processor(runtime: Runtime, body: bytes, message_id: str = "message-1") -> Disposition:
    """The message processor as both hosts run it: route the intake event, then provision what it forwards."""
    settings = MessagingSettings()
    message = IncomingMessage(queue=EVENTS_QUEUE, body=body, message_id=message_id)
    routed = await route_event(message, runtime, settings, datetime.now(UTC))
    if routed.outcome is not Outcome.FORWARDED:
        return routed
    (forwarded,) = routed.messages
    work = IncomingMessage(
        queue=WORK_QUEUE,
        body=forwarded.body,
        message_id=forwarded.message_id,
        properties=forwarded.properties,
        session_id=forwarded.session_id,
        correlation_id=forwarded.correlation_id,
    )
    return await provision(work, runtime, settings, datetime.now(UTC))


def event_body(event_type: str, data: dict[str, Any], event_id: str) -> bytes:
    document = {"specversion": "1.0", "id": event_id, "source": "/tests", "type": event_type, "data": data}
    return json.dumps(document).encode()
