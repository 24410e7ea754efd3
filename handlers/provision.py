"""Trigger on `ppmi-work` (sessions, batches): converge a session's waiting events, answer on ppmi-results."""

import azure.functions as func

from shared.messaging import SERVICEBUS_CONNECTION, WORK_QUEUE, from_function_message
from shared.messaging.hosting import process_host

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated


@bp.function_name("provision")
@bp.service_bus_queue_trigger(
    arg_name="messages",
    queue_name=WORK_QUEUE,
    connection=SERVICEBUS_CONNECTION,
    is_sessions_enabled=True,
    cardinality=func.Cardinality.MANY,
)
async def provision(messages: list[func.ServiceBusMessage]) -> None:
    host = await process_host.get()
    incoming = [from_function_message(m, WORK_QUEUE) for m in messages]
    results = await host.handle_provision_batch(incoming)
    for message, result in zip(incoming, results, strict=True):
        if isinstance(result, BaseException):
            # The plain binding settles a batch as a whole: raising would bring every message back. This one
            # alone is tried again later (kept with its reason once its attempts run out); if even that send
            # fails, the exception abandons the batch.
            await host.retry_alone(message, result)
