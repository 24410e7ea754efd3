"""`ppmi worker` on a clock `time_scale` times faster, for the time-scaled sandbox.

Same host, same receive loops and engine as `ppmi worker` (its own semantics, or the Functions host's with
`--handling functions|batches` and `--instances`); only the product's fixed waits that the settings do not
expose are divided by the time scale, as the sandbox's latencies and limits are: the in-process retry backoff
(`shared.http.Backoff`), the session idle timeout and the lock renewal limit (host.json `sessionIdleTimeout`,
`maxAutoLockRenewalDuration`), and how long before a lock runs out it is renewed (the SDK's 10 s; the
sandbox's locks are time-scaled too). The idle poll of an empty queue is left as it is: it only matters when
there is no work.

Run as `python -m bench.worker --time-scale 5 --handling functions --instances 4`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import fields

from shared.http import Backoff
from shared.messaging.serving import receiving_line, serve_until_signalled
from shared.messaging.worker import SessionHandling, WorkerOptions

READY = receiving_line("bench worker")


def scaled_backoff(time_scale: float) -> Backoff:
    """The default retry backoff with every time divided by `time_scale`."""
    defaults = Backoff()
    return Backoff(**{field.name: getattr(defaults, field.name) / time_scale for field in fields(Backoff)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker", description=__doc__)
    parser.add_argument("--time-scale", type=float, required=True)
    parser.add_argument("--handling", type=SessionHandling, default=WorkerOptions.handling)
    parser.add_argument("--instances", type=int, default=WorkerOptions.instances)
    parser.add_argument("--sessions", type=int, default=WorkerOptions.sessions)
    parser.add_argument("--event-receivers", type=int, default=WorkerOptions.event_receivers)
    parser.add_argument("--concurrent-calls", type=int, default=WorkerOptions.concurrent_calls)
    parser.add_argument("--calls-per-session", type=int, default=WorkerOptions.calls_per_session)
    parser.add_argument("--batch-size", type=int, default=WorkerOptions.batch_size)
    args = parser.parse_args(argv)
    options = WorkerOptions(
        handling=args.handling,
        instances=args.instances,
        sessions=args.sessions,
        event_receivers=args.event_receivers,
        concurrent_calls=args.concurrent_calls,
        calls_per_session=args.calls_per_session,
        batch_size=args.batch_size,
        session_idle_seconds=WorkerOptions.session_idle_seconds / args.time_scale,
        max_lock_renewal_seconds=WorkerOptions.max_lock_renewal_seconds / args.time_scale,
        renew_before_seconds=WorkerOptions.renew_before_seconds / args.time_scale,
    )
    asyncio.run(serve_until_signalled("bench worker", options, backoff=scaled_backoff(args.time_scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
