"""`ppmi upgrade` stopped during the propagation wait and run again waits only what is left, then finishes."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path

from sandbox.server import Sandbox
from shared.cli._exit import ExitCode
from tests.cli.processes import PPMI
from tests.domain.certificates import ca_issued_der
from tests.engine.conftest import PolicyWriter
from tests.engine.test_upgrade_propagation import backdate_record, format_1_environment

LEFT = re.compile(r"\((?P<left>\d+) s left")


def _upgrade_until_it_waits(environment_id: str, env: dict[str, str]) -> tuple[int, str]:
    """Run `ppmi upgrade`, press Ctrl-C once it says how long it waits; its exit code and stderr."""
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [PPMI, "upgrade", "--environment-id", environment_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines = []
    for line in process.stderr:
        lines.append(line)
        if "s left" in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    return process.returncode, "".join(lines) + rest


def _identity(sandbox: Sandbox) -> dict[str, object]:
    (identity,) = sandbox.control.dump()["identities"]
    return dict(identity)


def test_stopped_in_the_wait_and_run_again_it_waits_only_what_is_left(
    sandbox: Sandbox, write_policy: PolicyWriter, tmp_path: Path
) -> None:
    leaf = ca_issued_der().leaf_der  # CA-issued: its format 2 subject differs, so a new FIC must propagate
    environment_id = asyncio.run(format_1_environment(sandbox, write_policy, leaf))
    write_policy(trusted=[leaf])
    env = {
        **os.environ,
        "PPMI_POLICY_FILE": str(tmp_path / "policy.yaml"),
        "PPMI_FIC_PROPAGATION_SECONDS": "300",
    }
    first_code, first = _upgrade_until_it_waits(environment_id, env)
    backdate_record(
        sandbox, environment_id, seconds=100
    )  # stopped for a while: a hundred seconds of the wait went by
    second_code, second = _upgrade_until_it_waits(environment_id, env)

    assert first_code == second_code == ExitCode.INTERRUPTED
    assert "Traceback" not in first + second
    assert "stopping now is safe" in first
    assert "run `ppmi upgrade` again to finish" in first
    assert "created ppmi-" in first
    assert "created ppmi-" not in second  # nothing made twice
    left = LEFT.search(second)
    assert left is not None
    assert 190 <= int(left["left"]) <= 200  # the rest of the wait, not the whole of it again
    (row,) = sandbox.control.rows(environment_id, "managedidentities")
    assert row["version"] == 1  # the row waits for the FIC
