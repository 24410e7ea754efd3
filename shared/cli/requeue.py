"""`ppmi requeue`: list and re-drive kept messages (ppmi-kept, or a queue's dead-letter sub-queue)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence

from shared.cli._exit import ExitCode
from shared.cli._failures import usage
from shared.cli._output import Output
from shared.messaging.connection import open_servicebus
from shared.messaging.envelope import KEPT_QUEUE
from shared.messaging.requeue import REDRIVE_SOURCES, KeptMessage, list_kept, requeue
from shared.settings import Settings

EPILOG = """\
examples:
  ppmi requeue --dry-run                         # list what ppmi-kept holds, with reasons
  ppmi requeue --message-id 3f0c...e1            # re-drive one kept message to the queue it came from
  ppmi requeue --all                             # re-drive everything in ppmi-kept
  ppmi requeue --queue ppmi-work --all           # re-drive ppmi-work's dead-letter sub-queue (crash loops)
  ppmi requeue --dry-run --output json           # the same list for a script

A re-driven message starts again at attempt 1. Fix the cause first (policy, permissions, the event itself):
`--dry-run` shows each message's reason. A run re-drives what was kept when it started, each message once:
one that is kept again (its cause not fixed yet) stays kept for the next run.
exit codes: 0 done, 1 a --message-id was not found, 2 nothing chosen or settings wrong, 6 Service Bus could
  not be reached, 130 interrupted (what was re-driven so far was printed); docs/cli.md has the table.
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
        help="where the kept messages are: ppmi-kept (default), or ppmi-events / ppmi-work for that queue's "
        "dead-letter sub-queue",
    )
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--all", action="store_true", help="re-drive every message at that place")
    chosen.add_argument(
        "--message-id", action="append", default=[], metavar="ID", help="re-drive this message (repeatable)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list the kept messages; change nothing")
    parser.set_defaults(
        func=_run,
        interrupted="stopped before any message was re-driven",
    )


def _run(args: argparse.Namespace, out: Output) -> int:
    if not (args.dry_run or args.all or args.message_id):
        raise usage(
            "say what to re-drive: --all, --message-id ID, or look first with --dry-run",
            "ppmi requeue --dry-run lists what is kept, with each message's reason",
        )
    chosen = None if args.all or args.dry_run else args.message_id

    redriven: list[str] = []

    def redriven_one(message: KeptMessage) -> None:
        redriven.append(message.message_id)
        out.progress(f"  re-drove {message.message_id} to {message.source_queue}")
        args.interrupted = (
            f"stopped after re-driving {len(redriven)} message(s) ({', '.join(redriven)}); the rest stay "
            "where "
            "they were (`ppmi requeue --dry-run` shows them)"
        )

    out.progress(f"reading {_place(args.queue)}")
    kept = asyncio.run(_requeue(args.queue, chosen, args.dry_run, redriven_one))
    missing = sorted(set(args.message_id) - {k.message_id for k in kept} - {k.origin_id for k in kept})
    payload = {
        "queue": args.queue,
        "dryRun": args.dry_run,
        "messages": [_message_json(message) for message in kept],
        "notFound": missing,
    }
    out.answer(payload, lambda: _text(kept, args))
    if missing:
        out.note(f"not found in {args.queue}: {', '.join(missing)}; list what is there with --dry-run")
        return ExitCode.ATTENTION
    return ExitCode.OK


async def _requeue(
    location: str,
    message_ids: Sequence[str] | None,
    dry_run: bool,
    redriven_one: Callable[[KeptMessage], None],
) -> list[KeptMessage]:
    async with open_servicebus(Settings.from_env()) as client:
        if dry_run:
            return await list_kept(client, location)
        return await requeue(client, location, message_ids=message_ids, redriven_one=redriven_one)


def _text(kept: Sequence[KeptMessage], args: argparse.Namespace) -> str:
    lines = [
        f"{message.message_id}\t{message.kept_class}\tfrom {message.source_queue}"
        f"\tattempt {message.attempt}\t{message.reason}"
        for message in kept
    ]
    if args.dry_run:
        lines.append(f"{len(kept)} kept message(s) in {_place(args.queue)}; nothing changed (--dry-run)")
    else:
        lines.append(f"re-drove {len(kept)} message(s) from {_place(args.queue)}")
    return "\n".join(lines)


def _place(queue: str) -> str:
    return queue if queue == KEPT_QUEUE else f"{queue}'s dead-letter sub-queue"


def _message_json(message: KeptMessage) -> dict[str, object]:
    return {
        "messageId": message.message_id,
        "originId": message.origin_id,
        "class": message.kept_class,
        "sourceQueue": message.source_queue,
        "attempt": message.attempt,
        "reason": message.reason,
        "sessionId": message.session_id,
    }
