"""`ppmi sandbox` as a user runs it: starts, prints the environment, stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.cli import main

PPMI = str(Path(sys.executable).with_name("ppmi"))
FREE_PORTS = ["--https-port", "0", "--token-port", "0", "--servicebus-port", "0"]


def test_sandbox_prints_its_environment_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [PPMI, "sandbox", *FREE_PORTS],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = []
    for line in process.stdout:
        banner.append(line)
        if "Press Ctrl-C" in line:
            break
    exported = subprocess.run(  # noqa: S603
        [PPMI, "sandbox", "--print-env"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    process.send_signal(signal.SIGINT)
    rest, errors = process.communicate(timeout=20)
    assert process.returncode == 0, errors
    assert "export PPMI_CONNECT_TO=127.0.0.1:" in "".join(banner)
    assert "export IDENTITY_ENDPOINT=http://127.0.0.1:" in exported
    assert "ppmi sandbox stopped." in rest
    assert not (tmp_path / ".sandbox" / "env").exists()


def test_print_env_without_a_running_sandbox_says_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "--print-env", "--state-dir", str(tmp_path / ".sandbox")]) == 1
    assert "Start one first with `ppmi sandbox`" in capsys.readouterr().err


def test_sandbox_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "examples:" in shown
    assert "--profile" in shown


def test_print_env_ignores_what_a_crashed_sandbox_left_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / ".sandbox"
    state_dir.mkdir()
    (state_dir / "env").write_text("export PPMI_CONNECT_TO=127.0.0.1:1\n", encoding="utf-8")
    assert main(["sandbox", "--print-env", "--state-dir", str(state_dir)]) == 1
    assert capsys.readouterr().out == ""


def test_a_fault_override_typo_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "--faults", '{"services": {"mainframe": {}}}'])
    assert exited.value.code == 2
    assert "unknown service 'mainframe'" in capsys.readouterr().err
