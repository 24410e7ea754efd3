"""Timer: publish `ppmi.environment.reconcile` for every environment in scope, to repair drift.

Schedule: app setting `PPMI_RECONCILE_SCHEDULE` (NCRONTAB), hourly by default.
"""

import os

import azure.functions as func

from shared.messaging.hosting import process_host

bp = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated


@bp.function_name("reconcile")
@bp.timer_trigger(arg_name="timer", schedule=os.environ.get("PPMI_RECONCILE_SCHEDULE", "0 0 * * * *"))
async def reconcile(timer: func.TimerRequest) -> None:
    host = await process_host.get()
    await host.reconcile()
