"""Timer: find environments created since the last look and publish `ppmi.environment.created` for each.

Schedule: app setting `PPMI_DISCOVERY_SCHEDULE` (NCRONTAB), every five minutes by default.
"""

import os

import azure.functions as func

from shared.messaging.hosting import process_host

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated


@bp.function_name("discovery")
@bp.timer_trigger(arg_name="timer", schedule=os.environ.get("PPMI_DISCOVERY_SCHEDULE", "0 */5 * * * *"))
async def discovery(timer: func.TimerRequest) -> None:
    host = await process_host.get()
    await host.discover()
