"""`ppmi worker` on a clock `time_scale` times faster, for the time-scaled sandbox.

Same host, same receive loop and engine as `ppmi worker`; only the product's fixed waits that the settings do
not expose are divided by the time scale, as the sandbox's latencies and limits are: the in-process retry
backoff (`shared.http.Backoff`) and the session idle timeout (host.json `sessionIdleTimeout`). The idle poll
of an empty queue is left as it is: it only matters when there is no work.

Run as `python -m bench.worker --time-scale 10 --sessions 64 --event-receivers 16`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import fields

from shared.http import Backoff
from shared.messaging.serving import receiving_line, serve_until_signalled
from shared.messaging.worker import WorkerOptions

READY = receiving_line("bench worker")


def scaled_backoff(time_scale: float) -> Backoff:
    """The default retry backoff with every time divided by `time_scale`."""
    defaults = Backoff()
    return Backoff(**{field.name: getattr(defaults, field.name) / time_scale for field in fields(Backoff)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--sessions", type=int, default=WorkerOptions.sessions)
    parser.add_argument("--event-receivers", type=int, default=WorkerOptions.event_receivers)
    parser.add_argument("--whole-batches", action="store_true", help="settle like the Functions host")
    args = parser.parse_args(argv)
    options = WorkerOptions(
        sessions=args.sessions,
        event_receivers=args.event_receivers,
        whole_batches=args.whole_batches,
        session_idle_seconds=WorkerOptions.session_idle_seconds / args.time_scale,
    )
    asyncio.run(serve_until_signalled("bench worker", options, backoff=scaled_backoff(args.time_scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
