"""`ppmi requeue`: list and re-drive kept messages (ppmi-kept, or a queue's dead-letter sub-queue)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from shared.errors import PpmiError
from shared.messaging.connection import open_servicebus
from shared.messaging.requeue import REDRIVE_SOURCES, KeptMessage, list_kept, requeue
from shared.settings import Settings

EPILOG = """\
examples:
  ppmi requeue --dry-run                         # list what ppmi-kept holds, with reasons
  ppmi requeue --message-id 3f0c...e1            # re-drive one kept message to the queue it came from
  ppmi requeue --all                             # re-drive everything in ppmi-kept
  ppmi requeue --queue ppmi-work --all           # re-drive ppmi-work's dead-letter sub-queue (crash loops)

A re-driven message starts again at attempt 1. Fix the cause first (policy, permissions, the event itself):
`--dry-run` shows each message's reason.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "requeue",
        help="re-drive kept or dead-lettered messages",
        description="Send kept messages back to their source queue with the attempt count reset. "
        "ppmi-kept holds messages ppmi gave up on (rejected or failed, with a reason); the dead-letter "
        "sub-queues of ppmi-events and ppmi-work hold messages the host gave up on after repeated crashes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--queue",
        choices=REDRIVE_SOURCES,
        default=REDRIVE_SOURCES[0],
        help="ppmi-kept (default), or ppmi-events / ppmi-work for their dead-letter sub-queue",
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--all", action="store_true", help="re-drive every message at that place")
    chosen.add_argument(
        "--message-id", action="append", default=[], metavar="ID", help="re-drive this message (repeatable)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list the kept messages; change nothing")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if not (args.dry_run or args.all or args.message_id):
        print(
            "ppmi requeue: say what to re-drive: --all, --message-id ID, or look first with --dry-run",
            file=sys.stderr,
        )
        return 2
    try:
        kept = asyncio.run(
            _requeue(args.queue, None if args.all or args.dry_run else args.message_id, args.dry_run)
        )
    except (PpmiError, ValueError) as error:
        print(f"ppmi requeue: {error}", file=sys.stderr)
        return 2
    _print_table(kept)
    if args.dry_run:
        print(f"{len(kept)} kept message(s) in {args.queue}; nothing changed (--dry-run)")
        return 0
    print(f"re-drove {len(kept)} message(s) from {args.queue}")
    missing = set(args.message_id) - {k.message_id for k in kept} - {k.origin_id for k in kept}
    if missing:
        print(
            f"ppmi requeue: not found in {args.queue}: {', '.join(sorted(missing))}; "
            "list what is there with --dry-run",
            file=sys.stderr,
        )
        return 1
    return 0


async def _requeue(location: str, message_ids: Sequence[str] | None, dry_run: bool) -> list[KeptMessage]:
    async with open_servicebus(Settings.from_env()) as client:
        if dry_run:
            return await list_kept(client, location)
        return await requeue(client, location, message_ids=message_ids)


def _print_table(kept: Sequence[KeptMessage]) -> None:
    for message in kept:
        print(
            f"{message.message_id}\t{message.kept_class}\tfrom {message.source_queue}"
            f"\tattempt {message.attempt}\t{message.reason}"
        )
