"""With `--output json`, stdout carries one JSON document matching the command's schema in docs/schemas/,
failures included, and nothing else: logs and progress go to stderr."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from shared.cli import main
from shared.cli._exit import ExitCode
from tests.cli.processes import PPMI, running_sandbox
from tests.cli.schemas import COMMAND_SCHEMAS, SCHEMAS, documented, validator
from tests.cli.test_help_examples import COMMANDS
from tests.domain.certificates import self_signed_der
from tests.domain.event_samples import sample
from tests.engine.conftest import PolicyWriter
from tests.messaging.conftest import Platform

SAMPLE_POLICY = Path(__file__).resolve().parents[2] / "docs" / "policy.sample.yaml"


def run_json(capsys: pytest.CaptureFixture[str], command: str, *argv: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the document (checked against the command's schema), and stderr."""
    code = main([*command.split(), *argv, "--output", "json"])
    captured = capsys.readouterr()
    return code, documented(command, captured.out), captured.err


def test_every_command_has_a_schema_and_every_schema_is_valid() -> None:
    assert set(COMMANDS) == set(COMMAND_SCHEMAS)
    for path in SCHEMAS.glob("*.schema.json"):
        validator(path.name.removesuffix(".schema.json"))


def test_local_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    certificate = tmp_path / "signing.cer"
    certificate.write_bytes(self_signed_der())
    event = tmp_path / "created.json"
    event.write_text(json.dumps(sample("ppmi.environment.created")))
    tenant, environment = "7f2c1900-9fd4-4b89-91d3-79a649996f0a", "7efcc31a-c410-e20e-9b95-dd448cedf653"

    fic = (
        "fic show",
        "--tenant-id",
        tenant,
        "--environment-id",
        environment,
        "--certificate",
        str(certificate),
    )
    assert run_json(capsys, *fic)[0] == ExitCode.OK
    code, verdicts, _ = run_json(capsys, "event validate", str(event), str(tmp_path / "absent.json"))
    assert (code, verdicts["valid"]) == (ExitCode.ATTENTION, False)
    assert run_json(capsys, "event schema", "--write", str(tmp_path / "schemas"))[0] == ExitCode.OK
    assert run_json(capsys, "policy validate", str(SAMPLE_POLICY))[1]["valid"] is True
    assert run_json(capsys, "policy deployment-parameters", str(SAMPLE_POLICY))[0] == ExitCode.OK


def test_engine_commands_against_the_sandbox(
    sandbox: Sandbox,
    write_policy: PolicyWriter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_policy()
    monkeypatch.setenv("PPMI_POLICY_FILE", str(tmp_path / "policy.yaml"))
    environment = sandbox.control.create_environment(display_name="Sales").id

    assert run_json(capsys, "plan", "--environment-id", environment)[1]["pending"] is True
    code, report, logs = run_json(capsys, "apply", "--environment-id", environment, "--verbose")
    assert (code, report["outcome"]) == (ExitCode.OK, "succeeded")
    assert "identity.ensured" in logs  # the log line is on stderr, not in the document
    assert run_json(capsys, "upgrade", "--environment-id", environment)[1]["outcome"] == "succeeded"
    assert run_json(capsys, "verify", "--environment-id", environment)[1]["healthy"] is True
    assert run_json(capsys, "status", "--environment-id", environment)[0] == ExitCode.OK


def test_failures_are_documents_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)
    code, failure, err = run_json(capsys, "plan", "--environment-id", "7efcc31a-c410-e20e-9b95-dd448cedf653")
    assert code == ExitCode.USAGE
    assert failure["error"] == {
        "kind": "configuration",
        "message": "PPMI_POLICY_FILE is not set: point it at the provisioning policy (YAML)",
        "hint": "set it as the message says, then run again",
        "exitCode": 2,
    }
    assert err.splitlines() == [
        "ppmi plan: PPMI_POLICY_FILE is not set: point it at the provisioning policy (YAML)",
        "set it as the message says, then run again",
    ]


def test_messaging_commands(platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    environment = "7efcc31a-c410-e20e-9b95-dd448cedf653"
    published = run_json(capsys, "publish", "ppmi.environment.created", "--environment-id", environment)[1]
    assert (published["sent"], published["result"]) == (True, None)
    assert run_json(capsys, "requeue", "--dry-run")[1]["messages"] == []


async def test_the_worker_prints_its_summary_as_json_when_it_stops(platform: Platform) -> None:
    process = await asyncio.create_subprocess_exec(
        PPMI,
        "worker",
        "--output",
        "json",
        env={**os.environ, **platform.env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    while b"receiving" not in await asyncio.wait_for(process.stderr.readline(), 30):
        pass  # the policy's warnings and the logs come first, on stderr too
    process.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(process.communicate(), 30)

    assert await process.wait() == ExitCode.OK
    assert documented("worker", out.decode()) == {"stopped": True, "outcomes": {}}


def test_the_sandbox_prints_its_settings_as_json(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with running_sandbox(dict(os.environ), "--state-dir", str(state), "--output", "json") as process:
        printed = subprocess.run(  # noqa: S603
            [PPMI, "sandbox", "--print-env", "--state-dir", str(state), "--output", "json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        process.send_signal(signal.SIGINT)
        started, _ = process.communicate(timeout=30)

    assert documented("sandbox", started)["env"]["PPMI_POLICY_FILE"] == str(state / "policy.yaml")
    assert documented("sandbox", printed)["env"] == documented("sandbox", started)["env"]
