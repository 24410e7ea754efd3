"""Trigger on `ppmi-events`: validate and enrich each event, forward it to `ppmi-work` under its identity."""

import azure.functions as func

from shared.messaging import EVENTS_QUEUE, SERVICEBUS_CONNECTION, from_function_message
from shared.messaging.hosting import process_host

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated


@bp.function_name("route_event")
@bp.service_bus_queue_trigger(arg_name="message", queue_name=EVENTS_QUEUE, connection=SERVICEBUS_CONNECTION)
async def route_event(message: func.ServiceBusMessage) -> None:
    host = await process_host.get()
    await host.handle_route_event(from_function_message(message, EVENTS_QUEUE))
