"""`ppmi event validate`: check event files against the same rules the service applies on intake."""

from __future__ import annotations

import argparse

from shared.cli._exit import ExitCode
from shared.cli._files import STDIN, read_event
from shared.cli._output import Output
from shared.events import MAX_EVENT_BYTES, EventValidationError, parse_event

EPILOG = f"""\
examples:
  ppmi event validate created.json
  ppmi event validate events/*.json        # exit code 0 only when every file is valid
  ppmi event validate - < created.json     # from stdin (a pipe), read up to the size limit only
  ppmi event validate events/*.json --output json

Each file holds one CloudEvents 1.0 structured JSON event; docs/events.md lists the types and rules.
An event larger than {MAX_EVENT_BYTES} bytes is invalid; ppmi stops reading there.
exit codes: 0 every file is valid, 1 at least one is invalid or unreadable.
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
    validate.add_argument(
        "files", nargs="+", metavar="FILE", help="event files; - reads one event from stdin"
    )
    validate.set_defaults(func=_validate)


def _validate(args: argparse.Namespace, out: Output) -> int:
    verdicts = [_verdict(name) for name in args.files]
    payload = {
        "valid": all(verdict["valid"] for verdict in verdicts),
        "files": verdicts,
    }
    out.answer(
        payload,
        lambda: "\n".join(
            f"{v['file']}: valid" if v["valid"] else f"{v['file']}: invalid: {v['reason']}" for v in verdicts
        ),
    )
    return ExitCode.OK if payload["valid"] else ExitCode.ATTENTION


def _verdict(name: str) -> dict[str, object]:
    shown = "(stdin)" if name == STDIN else name
    try:
        parsed = parse_event(read_event(name))
    except OSError as error:
        return {
            "file": shown,
            "valid": False,
            "reason": f"cannot read the file ({error.strerror})",
            "field": None,
        }
    except EventValidationError as error:
        return {"file": shown, "valid": False, "reason": error.reason, "field": error.field}
    return {"file": shown, "valid": True, "type": parsed.type, "id": parsed.id}
