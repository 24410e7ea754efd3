"""`ppmi event schema`: the JSON Schemas of the events, for editors, other languages and pipeline checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from shared.cli._exit import ExitCode
from shared.cli._failures import usage
from shared.cli._output import Output
from shared.schemas import SCHEMA_TYPES, render, schema_for, write_schemas

EPILOG = """\
examples:
  ppmi event schema ppmi.pluginpackage.registered            # print one schema
  ppmi event schema ppmi.result > ppmi.result.schema.json
  ppmi event schema --write schemas/                         # every event type and the result event

The schemas are generated from the models the service validates with; docs/events/ holds the committed copies
and docs/events/README.md lists the few rules only the service can check (e.g. that 'der' is a certificate).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `schema` to the `event` group, which shared.cli.event registers first."""
    event = subparsers.choices.get("event")
    if event is None:
        raise RuntimeError("shared.cli.event must come before shared.cli.schema in COMMAND_MODULES")
    commands = next(action for action in event._actions if isinstance(action, argparse._SubParsersAction))
    schema = commands.add_parser(
        "schema",
        help="print or write the JSON Schema of each event type",
        description="Print the JSON Schema (draft 2020-12) of one event type, or write them all to a folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.add_argument("type", nargs="?", choices=SCHEMA_TYPES, metavar="TYPE", help=", ".join(SCHEMA_TYPES))
    schema.add_argument("--write", type=Path, metavar="DIR", help="write every schema into DIR")
    schema.set_defaults(func=_run)


def _run(args: argparse.Namespace, out: Output) -> int:
    if args.write is not None and args.type is not None:
        raise usage("give a TYPE to print, or --write DIR to write all; not both", "choose one")
    if args.type is not None:
        out.stdout.write(render(schema_for(args.type)))  # a JSON Schema: JSON in either output mode
        return ExitCode.OK
    if args.write is None:
        raise usage(
            "name a TYPE to print its schema, or --write DIR to write them all",
            f"types: {', '.join(SCHEMA_TYPES)}",
        )
    try:
        written = write_schemas(args.write)
    except OSError as error:
        raise usage(
            f"cannot write into {args.write}: {error.strerror}", "choose a folder you can write to"
        ) from None
    out.answer({"written": [str(path) for path in written]}, lambda: "\n".join(str(path) for path in written))
    return ExitCode.OK
