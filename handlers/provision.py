"""Trigger on `ppmi-work` (sessions, one message per call): converge the event, answer on ppmi-results.

A single-message session trigger, so the host renews the session lock while the session is held
(`maxAutoLockRenewalDuration`), works `maxConcurrentSessions` sessions at once per instance and
`maxConcurrentCallsPerSession` messages of each (host.json); returning completes the message, raising abandons
this message only. Why not batches: docs/decisions.md.
"""

import azure.functions as func

from shared.messaging import SERVICEBUS_CONNECTION, WORK_QUEUE, from_function_message
from shared.messaging.hosting import process_host

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated


@bp.function_name("provision")
@bp.service_bus_queue_trigger(
    arg_name="message",
    queue_name=WORK_QUEUE,
    connection=SERVICEBUS_CONNECTION,
    is_sessions_enabled=True,
)
async def provision(message: func.ServiceBusMessage) -> None:
    host = await process_host.get()
    await host.handle_provision(from_function_message(message, WORK_QUEUE))
