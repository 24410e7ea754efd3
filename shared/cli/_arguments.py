"""Arguments every command shares: output format, progress, and an environment ID checked on the way in."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from uuid import UUID

from shared.cli._output import OUTPUT_CHOICES
from shared.events._fields import check_environment_id

ENVIRONMENT_HELP = "the Power Platform environment ID: a lowercase GUID, or Default-<tenant GUID>"


def environment_id(value: str) -> str:
    """An environment ID exactly as Power Platform writes it; an upper-case one is named as such."""
    value = value.strip()
    try:
        return check_environment_id(value)
    except ValueError as error:
        lowered = value.lower()
        written = f"Default-{lowered.removeprefix('default-')}" if lowered.startswith("default-") else lowered
        if written != value and _valid(written):
            raise argparse.ArgumentTypeError(
                f"{value} is written in upper case; Power Platform writes environment IDs in lower case, and "
                f"FIC subjects, identity names and row IDs use them exactly: use {written}"
            ) from None
        raise argparse.ArgumentTypeError(f"{value!r} {error}") from None


def _valid(value: str) -> bool:
    try:
        check_environment_id(value)
    except ValueError:
        return False
    return True


def guid(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a GUID") from None


def add_environment_id(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--environment-id", required=required, type=environment_id, help=ENVIRONMENT_HELP)


def command_parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every runnable command's parser (one that sets `func`), however deeply nested under groups."""
    if parser.get_default("func") is not None:
        yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from command_parsers(child)


def add_shared_options(parser: argparse.ArgumentParser) -> None:
    """`--output`, `--progress`, `--quiet` and `--verbose`, in one group at the end of a command's help."""
    group = parser.add_argument_group("output")
    group.add_argument(
        "--output",
        choices=OUTPUT_CHOICES,
        default="text",
        help="json: stdout carries one JSON document (errors included; schemas in docs/schemas/)",
    )
    group.add_argument(
        "--progress", action="store_true", help="show progress on stderr even when it is not a terminal"
    )
    group.add_argument("--quiet", action="store_true", help="no progress lines, only the answer and errors")
    group.add_argument("--verbose", action="store_true", help="log the service calls on stderr (INFO)")
