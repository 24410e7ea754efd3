"""The `ppmi` command line: a thin shell over the engine; each command group lives in its own module.

Every command ends with an `ExitCode` (docs/cli.md): its answer on stdout, and any failure as one or two
lines on stderr (with `--output json`, also as a JSON document on stdout), never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from types import FrameType

from shared.cli._arguments import add_shared_options, command_parsers
from shared.cli._exit import ExitCode, exit_code_summary
from shared.cli._failures import Failure, explain
from shared.cli._output import Output
from shared.telemetry._logging import ROOT_LOGGER_NAME, configure_logging

# Each module exposes `register(subparsers)`, which adds its commands and sets `func(args, out)` on them.
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
    "shared.cli.preflight",
    "shared.cli.provision",
    "shared.cli.status",
    "shared.cli.policy",
)

INTERRUPTED = "stopped; nothing was left half-done"
DEBUG_VARIABLE = "PPMI_DEBUG"


def version() -> str:
    try:
        return metadata.version("ppmi")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ppmi",
        description="Managed identity for Dataverse plug-ins: compute, provision, verify, operate.",
        epilog=f"exit codes (docs/cli.md):\n{exit_code_summary()}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ppmi {version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command in command_parsers(parser):
        add_shared_options(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = argparse.Namespace()
    out = Output(json_output=False, progress=False)
    try:
        args = parser.parse_args(argv)  # usage errors exit 2 here, with argparse's own message
        out = Output.for_args(args)
        _log_to_stderr(verbose=args.verbose)
        with _sigterm_as_interrupt():
            return int(args.func(args, out))
    except KeyboardInterrupt:
        _quiet_what_the_interrupt_left()
        failure = Failure(
            "interrupted", str(getattr(args, "interrupted", INTERRUPTED)), "", ExitCode.INTERRUPTED
        )
    except Exception as error:  # every failure ends as a message; PPMI_DEBUG=1 adds the traceback
        if os.environ.get(DEBUG_VARIABLE):
            traceback.print_exc()
        failure = explain(error)
    report(failure, out, command=_command_name(args))
    return int(failure.exit_code)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A cancelled pipeline step (SIGTERM) stops like Ctrl-C, with its message; the worker and the sandbox
    install their own handlers inside, to finish what they hold first."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _quiet_what_the_interrupt_left() -> None:
    """An interrupt can land anywhere, in the middle of building an event loop or before a coroutine ran;
    what it leaves half-made is reported by the interpreter as it is collected. The process is stopping and
    says so itself: those reports are noise to the user (PPMI_DEBUG=1 keeps them)."""
    if os.environ.get(DEBUG_VARIABLE):
        return
    sys.unraisablehook = lambda unraisable: None
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)


def report(failure: Failure, out: Output, *, command: str) -> None:
    """Two lines on stderr (what failed, what to do) and, in JSON mode, the same as a document on stdout."""
    out.note(f"{command}: {failure.message}")
    if failure.hint:
        out.note(failure.hint)
    if out.json_output and not out.answered:
        out.write_json(failure.to_json())


def _command_name(args: argparse.Namespace) -> str:
    names = ("command", "event_command", "fic_command", "policy_command")
    return " ".join(["ppmi", *(str(getattr(args, name)) for name in names if getattr(args, name, None))])


def _log_to_stderr(*, verbose: bool) -> None:
    """Logs never share stdout with the answer: warnings (or everything, with --verbose) on stderr."""
    configure_logging(json_logs=False, stream=sys.stderr)
    level = logging.INFO if verbose else logging.WARNING
    logging.getLogger(ROOT_LOGGER_NAME).setLevel(level)
    logging.getLogger("azure").setLevel(logging.INFO if verbose else logging.ERROR)


if __name__ == "__main__":
    sys.exit(main())
