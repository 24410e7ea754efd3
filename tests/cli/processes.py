"""`ppmi` run as a user runs it: a child process of the installed console script."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PPMI = str(Path(sys.executable).with_name("ppmi"))
FREE_PORTS = ("--https-port", "0", "--token-port", "0", "--servicebus-port", "0")  # tests share the machine


@contextmanager
def running_sandbox(
    env: dict[str, str], *options: str, cwd: Path | None = None
) -> Iterator[subprocess.Popen[str]]:
    """`ppmi sandbox` on free ports until the block ends (Ctrl-C); the block starts once it listens."""
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [PPMI, "sandbox", *FREE_PORTS, *options],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "Press Ctrl-C" in line:
            break
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)
