"""`ppmi worker`: process the ppmi queues like the Functions host does, for local runs and containers."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.errors import PpmiError
from shared.messaging.serving import serve_until_signalled
from shared.messaging.worker import WorkerOptions

EPILOG = """\
examples:
  # against the sandbox (variables from `ppmi sandbox --print-env`)
  eval "$(ppmi sandbox --print-env)" && ppmi worker
  # a container with more parallel identities
  ppmi worker --sessions 32 --event-receivers 8

needs: PPMI_POLICY_FILE, ServiceBusConnection__fullyQualifiedNamespace (and the identity settings of the app).
Stops cleanly on Ctrl-C or SIGTERM after the messages in hand.
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
        "--event-receivers", type=_positive, default=defaults.event_receivers, help="concurrent intake events"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive,
        default=defaults.batch_size,
        help="most waiting messages of one session handled together (host.json maxMessageBatchSize)",
    )
    parser.add_argument(
        "--whole-batches",
        action="store_true",
        help="settle like the Functions host: a session's waiting messages one batch at a time, ARM read per "
        "batch (default: messages as they come, ARM read once per held session)",
    )
    parser.add_argument(
        "--max-delivery-count",
        type=_positive,
        default=defaults.max_delivery_count,
        help="dead-letter a message delivered this many times (the queue's MaxDeliveryCount)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    options = WorkerOptions(
        sessions=args.sessions,
        event_receivers=args.event_receivers,
        batch_size=args.batch_size,
        whole_batches=args.whole_batches,
        max_delivery_count=args.max_delivery_count,
    )
    try:
        asyncio.run(serve_until_signalled("ppmi worker", options))
    except PpmiError as error:
        print(f"ppmi worker: {error}", file=sys.stderr)
        return 2
    return 0


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return number
