"""Read the Functions Service Bus binding's message into an `IncomingMessage`."""

from __future__ import annotations

import azure.functions as func

from shared.messaging.envelope import IncomingMessage, normalise_properties


def from_function_message(message: func.ServiceBusMessage, queue: str) -> IncomingMessage:
    """The host fills `application_properties`; `user_properties` is its older name, merged under it."""
    properties = normalise_properties(message.user_properties)
    properties.update(normalise_properties(message.application_properties))
    return IncomingMessage(
        queue=queue,
        body=message.get_body(),
        message_id=message.message_id,
        properties=properties,
        session_id=message.session_id,
        reply_to_session_id=message.reply_to_session_id,
        correlation_id=message.correlation_id,
        delivery_count=message.delivery_count or 1,
        enqueued_time=message.enqueued_time_utc,
        sequence_number=message.sequence_number,
    )
