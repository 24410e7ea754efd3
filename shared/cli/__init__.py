"""The `ppmi` command line: a thin shell over the engine; each command group lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module exposes `register(subparsers)`, which adds its commands and sets `func` on them.
COMMAND_MODULES: tuple[str, ...] = (
    "shared.cli.fic",
    "shared.cli.event",
    "shared.cli.demo",
    "shared.cli.publish",
    "shared.cli.requeue",
    "shared.cli.worker",
    "shared.cli.sandbox",
    "shared.cli.schema",
    "shared.cli.verify",
    "shared.cli.provision",
    "shared.cli.policy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ppmi",
        description="Managed identity for Dataverse plug-ins: compute, provision, verify, operate.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
