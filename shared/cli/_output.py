"""Where a command's words go: its answer on stdout (text, or JSON alone), everything else on stderr.

With `--output json` stdout carries exactly one JSON document, errors included, so a pipeline can parse it
whatever happened. Progress (each step as it happens, retries, waits) goes to stderr, on a terminal or when
`--progress` asks for it; `--quiet` silences it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

from shared.events import StepResult
from shared.http import RetryNotice

OUTPUT_CHOICES = ("text", "json")
# A wait shorter than this is not worth a line of its own.
NOTABLE_WAIT_SECONDS = 1.0
# Off a terminal a countdown prints a line this often; on one, it redraws every second.
PIPED_COUNTDOWN_STEP_SECONDS = 30.0

STEP_MARKS = {"created": "+", "updated": "~", "removed": "-", "unchanged": "=", "skipped": "!", "failed": "x"}


class Output:
    """A command's channels: `answer` (stdout), `note` (stderr, always), `progress` (stderr, when wanted)."""

    def __init__(
        self,
        *,
        json_output: bool,
        progress: bool,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_output = json_output
        self.progress_enabled = progress
        self._stdout = stdout
        self._stderr = stderr
        self.answered = False

    @classmethod
    def for_args(cls, args: argparse.Namespace) -> Output:
        quiet = bool(getattr(args, "quiet", False))
        asked = bool(getattr(args, "progress", False))
        return cls(
            json_output=getattr(args, "output", "text") == "json",
            progress=not quiet and (asked or sys.stderr.isatty()),
        )

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> TextIO:
        return self._stderr or sys.stderr

    @property
    def interactive(self) -> bool:
        """Whether a person can answer a question (stdin and stderr are a terminal)."""
        return sys.stdin.isatty() and self.stderr.isatty()

    def answer(self, payload: Mapping[str, Any], text: str | Callable[[], str]) -> None:
        """The command's result: the JSON document, or the text for people."""
        self.answered = True
        if self.json_output:
            self.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        else:
            self.stdout.write((text() if callable(text) else text).rstrip("\n") + "\n")
        self.stdout.flush()

    def lines(self, lines: Iterable[str]) -> None:
        """Text lines on stdout, in text mode only (JSON mode answers once, at the end)."""
        if self.json_output:
            return
        for line in lines:
            self.stdout.write(line + "\n")
        self.stdout.flush()

    def note(self, text: str) -> None:
        """Something the user must read whatever the mode: hints, warnings, what to do next."""
        self.stderr.write(text.rstrip("\n") + "\n")
        self.stderr.flush()

    def progress(self, text: str) -> None:
        if self.progress_enabled:
            self.note(text)

    def step(self, step: StepResult) -> None:
        """One engine step as it happens."""
        detail = f"  ({step.detail})" if step.detail and step.outcome != "unchanged" else ""
        self.progress(
            f"  {STEP_MARKS.get(step.outcome, '?')} {step.outcome:<9} {step.step} {step.target}{detail}"
        )

    def retry(self, notice: RetryNotice) -> None:
        """`ARM answered 429, waiting 4 s`: retries and throttling waits as they happen."""
        if notice.wait_seconds < NOTABLE_WAIT_SECONDS:
            return
        answered = (
            f"answered {notice.status}{' ' + notice.code if notice.code else ''}"
            if notice.status is not None
            else f"did not answer ({notice.code})"
        )
        service = service_label(notice.service)
        self.progress(f"  {service} {answered} to {notice.call}; waiting {notice.wait_seconds:.0f} s")

    async def countdown(self, label: str, seconds: float) -> None:
        """Wait `seconds`, showing the time left: redrawn each second on a terminal, now and then off it."""
        deadline = time.monotonic() + seconds
        terminal = self.progress_enabled and self.stderr.isatty()
        last_line = -PIPED_COUNTDOWN_STEP_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            if terminal:
                self.stderr.write(f"\r  {label}: {clock(left)} left ")
                self.stderr.flush()
            elif self.progress_enabled and seconds - left - last_line >= PIPED_COUNTDOWN_STEP_SECONDS:
                last_line = seconds - left
                self.progress(f"  {label}: {clock(left)} left")
            await asyncio.sleep(min(1.0, left))
        if terminal:
            self.stderr.write("\r" + " " * (len(label) + 16) + "\r")
            self.stderr.flush()

    def write_json(self, payload: Mapping[str, Any]) -> None:
        """A JSON document on stdout, whatever the mode (for `--output json` streams such as the worker's)."""
        self.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")
        self.stdout.flush()


SERVICE_LABELS = {
    "arm": "ARM",
    "graph": "Microsoft Graph",
    "dataverse": "Dataverse",
    "environments": "the Power Platform API",
    "bap": "the BAP admin API",
}


def service_label(service: str) -> str:
    return SERVICE_LABELS.get(service, service)


def clock(seconds: float) -> str:
    """`4:05` for 245 seconds."""
    whole = max(0, int(seconds + 0.999))
    return f"{whole // 60}:{whole % 60:02d}"


class ReportedSteps(list[StepResult]):
    """The engine's list of steps, printing each as progress when it is appended."""

    def __init__(self, out: Output) -> None:
        super().__init__()
        self._out = out

    def append(self, step: StepResult) -> None:
        super().append(step)
        self._out.step(step)
