"""`ppmi event validate`: check event files against the same rules the service applies on intake."""

from __future__ import annotations

import argparse
from pathlib import Path

from shared.events import EventValidationError, parse_event

EPILOG = """\
examples:
  ppmi event validate created.json
  ppmi event validate events/*.json        # exit code 0 only when every file is valid

Each file holds one CloudEvents 1.0 structured JSON event; docs/events.md lists the types and rules.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    event = subparsers.add_parser(
        "event",
        help="work with ppmi event files",
        epilog="examples:\n  ppmi event validate events/*.json\n  ppmi event schema --write docs/events\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = event.add_subparsers(dest="event_command", metavar="COMMAND", required=True)
    validate = commands.add_parser(
        "validate",
        help="check event files the way the service checks events on intake",
        description="Validate each file and print 'FILE: valid' or 'FILE: invalid: <what to fix>'.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(func=_validate)


def _validate(args: argparse.Namespace) -> int:
    all_valid = True
    for path in args.files:
        verdict = _verdict(path)
        all_valid = all_valid and verdict is None
        print(f"{path}: valid" if verdict is None else f"{path}: invalid: {verdict}")
    return 0 if all_valid else 1


def _verdict(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
    except OSError as error:
        return f"cannot read the file ({error.strerror})"
    try:
        parse_event(raw)
    except EventValidationError as error:
        return error.reason
    return None
