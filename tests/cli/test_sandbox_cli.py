"""`ppmi sandbox` as a user runs it: starts with a policy and a sample environment, is found from any
directory by `--print-env`, and `eval "$(ppmi sandbox --print-env)"; ppmi ...` works as the docs say."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.cli import main
from shared.cli._exit import ExitCode
from tests.cli.processes import PPMI, running_sandbox


@pytest.fixture
def running(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`ppmi sandbox` started from one directory, with an XDG_STATE_HOME of its own; the environment."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    started_in = tmp_path / "here"
    started_in.mkdir()
    with running_sandbox(env, cwd=started_in) as process:
        yield env
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "ppmi sandbox stopped." in err
    assert out.startswith("ppmi sandbox running (profile none, seed 0) at https://127.0.0.1:")


def _print_env(env: dict[str, str], cwd: Path) -> str:
    return subprocess.run(  # noqa: S603
        [PPMI, "sandbox", "--print-env"], cwd=cwd, env=env, capture_output=True, text=True, check=True
    ).stdout


def test_print_env_finds_the_running_sandbox_from_any_directory_with_its_policy(
    running: dict[str, str], tmp_path: Path
) -> None:
    env = running
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    exported = _print_env(env, elsewhere)

    assert "export IDENTITY_ENDPOINT=http://127.0.0.1:" in exported
    policy = tmp_path / "state" / "ppmi" / "sandbox" / "policy.yaml"
    assert f"export PPMI_POLICY_FILE={policy}" in exported
    assert "export PPMI_SANDBOX_ENVIRONMENT_ID=" in exported
    assert main(["policy", "validate", str(policy)]) == ExitCode.OK


def test_eval_print_env_then_the_commands_work(running: dict[str, str], tmp_path: Path) -> None:
    env = running
    script = """\
set -e
eval "$(ppmi sandbox --print-env)"
ppmi apply --environment-id "$PPMI_SANDBOX_ENVIRONMENT_ID" --quiet
ppmi verify --environment-id "$PPMI_SANDBOX_ENVIRONMENT_ID" \\
    --plugin-package-id "$PPMI_SANDBOX_PLUGIN_PACKAGE_ID"
"""
    clean = {k: v for k, v in env.items() if not k.startswith(("PPMI_", "IDENTITY_", "AZURE_", "Service"))}
    clean["PATH"] = f"{Path(PPMI).parent}:{clean['PATH']}"
    finished = subprocess.run(  # noqa: S603
        ["/bin/bash", "-c", script],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    assert "every link holds" in finished.stdout


def test_print_env_without_a_running_sandbox_says_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", "--print-env", "--state-dir", str(tmp_path / "state")]) == ExitCode.ATTENTION
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
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "env").write_text("export PPMI_CONNECT_TO=127.0.0.1:1\n", encoding="utf-8")
    assert main(["sandbox", "--print-env", "--state-dir", str(state_dir)]) == ExitCode.ATTENTION
    assert capsys.readouterr().out == ""


def test_a_fault_override_typo_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "--faults", '{"services": {"mainframe": {}}}'])
    assert exited.value.code == 2
    assert "unknown service 'mainframe'" in capsys.readouterr().err
