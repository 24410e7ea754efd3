"""`ppmi worker`: process the ppmi queues like the Functions host does, for local runs and containers."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.cli._exit import ExitCode
from shared.cli._output import Output
from shared.messaging.serving import serve_until_signalled
from shared.messaging.worker import SessionHandling, WorkerOptions

EPILOG = """\
examples:
  # against the sandbox (variables from `ppmi sandbox --print-env`)
  eval "$(ppmi sandbox --print-env)" && ppmi worker
  # a container with more parallel identities
  ppmi worker --sessions 32 --event-receivers 8
  # a summary of what was handled, as JSON on stdout when it stops (logs stay on stderr)
  ppmi worker --output json > summary.json
  # what the deployed Functions app would do with 4 instances (host.json's concurrency and lock renewal)
  ppmi worker --functions --instances 4

needs: PPMI_POLICY_FILE, ServiceBusConnection__fullyQualifiedNamespace (and the identity settings of the app).
Stops cleanly on Ctrl-C or SIGTERM after the messages in hand, then prints how many messages ended how
(queue:outcome). Logs go to stderr.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="process ppmi-events and ppmi-work like the Functions app",
        description="Receive from ppmi-events and ppmi-work (by session) with the Functions host's "
        "semantics: "
        "peek-lock, complete on success, abandon on error, dead-letter past the max delivery count.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = WorkerOptions()
    parser.add_argument("--sessions", type=_positive, default=defaults.sessions, help="concurrent identities")
    parser.add_argument(
        "--event-receivers", type=_positive, default=defaults.event_receivers, help="receivers on ppmi-events"
    )
    parser.add_argument(
        "--concurrent-calls",
        type=_positive,
        default=defaults.concurrent_calls,
        help="intake events handled at once, over all event receivers (host.json maxConcurrentCalls)",
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=defaults.batch_size,
        help="messages of one held session in hand at once; with --whole-batches, the most in one batch",
    )
    parser.add_argument(
        "--calls-per-session",
        type=_positive,
        default=defaults.calls_per_session,
        help="with --functions: messages of one session at once (host.json maxConcurrentCallsPerSession)",
    )
    semantics = parser.add_mutually_exclusive_group()
    semantics.add_argument(
        "--functions",
        dest="handling",
        action="store_const",
        const=SessionHandling.FUNCTIONS,
        default=SessionHandling.WORKER,
        help="work ppmi-work as the deployed Functions trigger does: one message per call, --sessions "
        "sessions and --calls-per-session messages of each at once, session locks renewed, kept until idle",
    )
    semantics.add_argument(
        "--whole-batches",
        dest="handling",
        action="store_const",
        const=SessionHandling.BATCHES,
        help="work ppmi-work as a Functions batch trigger would: one session at a time per instance, its "
        "waiting messages (up to --batch-size) as one batch, the session lock never renewed",
    )
    parser.add_argument(
        "--instances",
        type=_positive,
        default=defaults.instances,
        help="independent copies of the host in this process, like scaled-out Functions instances",
    )
    parser.add_argument(
        "--max-delivery-count",
        type=_positive,
        default=defaults.max_delivery_count,
        help="dead-letter a message delivered this many times (the queue's MaxDeliveryCount)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace, out: Output) -> int:
    options = WorkerOptions(
        sessions=args.sessions,
        event_receivers=args.event_receivers,
        concurrent_calls=args.concurrent_calls,
        batch_size=args.batch_size,
        calls_per_session=args.calls_per_session,
        handling=args.handling,
        instances=args.instances,
        max_delivery_count=args.max_delivery_count,
    )
    stats = asyncio.run(serve_until_signalled("ppmi worker", options, log_stream=sys.stderr))
    counts = dict(sorted(stats.outcomes.items()))
    out.answer({"stopped": True, "outcomes": counts}, lambda: _summary(counts))
    return ExitCode.OK


def _summary(counts: dict[str, int]) -> str:
    if not counts:
        return "no messages handled"
    return "\n".join(f"{count:>6} {name}" for name, count in counts.items())


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number
