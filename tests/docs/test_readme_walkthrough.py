"""The README's first steps run as written: the sandbox in one terminal, the block of commands in another."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.processes import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Your turn, against the sandbox"
FREE_PORTS = [
    "--https-port",
    "0",
    "--token-port",
    "0",
    "--servicebus-port",
    "0",
]  # not the defaults: tests share


def walkthrough() -> str:
    """The first fenced block of the README's walkthrough section."""
    readme = ROOT.joinpath("README.md").read_text(encoding="utf-8")
    section = readme.split(SECTION, 1)[1]
    found = re.search(r"```bash\n(?P<block>.*?)```", section, re.DOTALL)
    assert found is not None, "the walkthrough has no bash block"
    return found["block"]


@pytest.fixture
def second_terminal(tmp_path: Path) -> Iterator[dict[str, str]]:
    """What the README asks for first: `ppmi sandbox` running; a shell environment that knows nothing else."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    with running_sandbox(env):
        yield env


def test_the_readme_walkthrough_runs_as_written(second_terminal: dict[str, str], tmp_path: Path) -> None:
    workdir = tmp_path / "checkout"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(ROOT / ".venv")  # `source .venv/bin/activate`, as in the checkout
    shell = subprocess.Popen(  # noqa: S603
        ["/bin/bash", "-c", walkthrough()],  # as typed: `plan` exits 1 with changes pending, and that is fine
        cwd=workdir,
        env=second_terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its background worker goes with it, below
    )
    try:
        out, err = shell.communicate(timeout=180)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the worker it left running in the background
            os.killpg(shell.pid, signal.SIGTERM)

    assert shell.returncode == 0, err  # the last command, status
    assert "checks pass: ppmi can run here" in out  # preflight, before anything changes
    assert "ppmi apply: 5 change(s)" in out  # plan: a new environment
    assert "\nsucceeded\n" in out  # apply, then publish --wait
    assert "every link holds: plug-ins here can get their token" in out  # verify
    assert "ppmi.environment.reconcile" in out
    status = out.splitlines()[-2:]
    assert any(line.split()[1:5] == ["Contoso", "Dev", "1", "v2"] for line in status), out
    assert "Traceback" not in err
