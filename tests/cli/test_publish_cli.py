"""`ppmi publish` in a pipeline: the result's steps, an event file, and a retried step's original result."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from shared.cli import main
from shared.cli._exit import ExitCode
from shared.events import new_event
from tests.cli.schemas import documented
from tests.messaging.conftest import Platform, worker


def _created(environment_id: str, *extra: str) -> list[str]:
    return ["publish", "ppmi.environment.created", "--environment-id", environment_id, *extra]


async def test_a_retried_step_with_the_same_id_gets_the_original_result_at_once(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Pipeline")
    step = _created(environment.id, "--id", "build-4711-created", "--wait", "--timeout", "30")
    async with worker():
        first = await asyncio.to_thread(main, step)
    first_out = capsys.readouterr().out

    # No worker now: nothing could answer a second send, and the ID is a duplicate Service Bus drops.
    again = await asyncio.to_thread(main, [*step[:-1], "5"])

    again_out = capsys.readouterr().out
    assert (first, again) == (ExitCode.OK, ExitCode.OK)
    assert first_out.startswith("published ppmi.environment.created build-4711-created")
    assert again_out.startswith("already published ppmi.environment.created build-4711-created")
    assert again_out.splitlines()[-1] == "succeeded"


async def test_wait_prints_what_the_event_created_changed_and_removed(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Pipeline")
    async with worker():
        code = await asyncio.to_thread(main, _created(environment.id, "--wait", "--timeout", "30"))

    lines = capsys.readouterr().out.splitlines()
    assert code == ExitCode.OK
    assert any(
        line.strip().startswith(f"+ created   identity               ppmi-{environment.id}") for line in lines
    )
    assert any("+ created   federated-credential" in line for line in lines)
    assert any("+ created   managed-identity-row" in line for line in lines)


async def test_an_event_file_is_sent_as_written_and_its_result_comes_back_as_json(
    platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Pipeline")
    event = new_event("ppmi.environment.created", {"environmentId": environment.id}, source="/alm/build")
    path = tmp_path / "event.json"
    path.write_bytes(event.to_json())

    async with worker():
        code = await asyncio.to_thread(
            main, ["publish", "--file", str(path), "--wait", "--timeout", "30", "--output", "json"]
        )

    answered = documented("publish", capsys.readouterr().out)
    assert code == ExitCode.OK
    assert answered["event"] == {"id": event.id, "type": event.type, "environmentId": environment.id}
    assert answered["sent"] is True
    assert answered["result"]["outcome"] == "succeeded"
    assert {step["step"] for step in answered["result"]["steps"]} >= {"identity", "federated-credential"}


def test_an_event_on_stdin_is_sent(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = new_event(
        "ppmi.environment.reconcile", {"environmentId": platform.env["PPMI_TENANT_ID"]}, source="/x"
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(event.to_json())))

    assert main(["publish", "--file", "-"]) == ExitCode.OK

    assert capsys.readouterr().out.strip() == f"published ppmi.environment.reconcile {event.id}"
    (sent,) = platform.broker.queue("ppmi-events").messages()
    assert sent.message_id == event.id


def test_a_file_and_data_options_together_are_refused(
    platform: Platform, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "event.json"
    path.write_text("{}")
    code = main(["publish", "ppmi.environment.created", "--file", str(path)])
    assert code == ExitCode.USAGE
    assert "drop TYPE" in capsys.readouterr().err
    assert platform.broker.queue("ppmi-events").messages() == []
