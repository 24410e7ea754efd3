"""Run the worker until SIGINT or SIGTERM: what `ppmi worker` and the bench worker share."""

from __future__ import annotations

import asyncio
import signal
import sys
from contextlib import AsyncExitStack
from typing import TextIO

from shared.http import Backoff
from shared.messaging.hosting import configure_process_telemetry, open_messaging_host
from shared.messaging.settling import WorkerStats
from shared.messaging.worker import WorkerOptions, run_instances
from shared.settings import Settings
from shared.telemetry import flush_telemetry


def receiving_line(name: str) -> str:
    """The line printed once the process receives: `name` says who, callers may wait for it."""
    return f"{name}: receiving from ppmi-events and ppmi-work"


async def serve_until_signalled(
    name: str, options: WorkerOptions, *, backoff: Backoff | None = None, log_stream: TextIO | None = None
) -> WorkerStats:
    """Open the host from the environment's settings, receive until a stop signal, print a summary.

    Logs go to stdout unless `log_stream` says otherwise (`ppmi worker` keeps stdout for its summary).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    settings = Settings.from_env()
    configure_process_telemetry(settings, log_stream=log_stream)
    async with AsyncExitStack() as stack:
        hosts = [
            await stack.enter_async_context(open_messaging_host(settings, backoff=backoff))
            for _ in range(options.instances)
        ]
        print(f"{receiving_line(name)}; Ctrl-C to stop", file=sys.stderr, flush=True)
        stats = await run_instances(hosts, options, stop)
    flush_telemetry()
    summary = ", ".join(f"{key}={count}" for key, count in sorted(stats.outcomes.items())) or "no messages"
    print(f"{name}: stopped ({summary})", file=sys.stderr, flush=True)
    return stats
