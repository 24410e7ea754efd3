"""`ppmi publish`, `ppmi requeue` and `ppmi worker` as a pipeline or an operator runs them."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from shared.cli import main
from shared.cli.publish import EXIT_INVALID, EXIT_REJECTED, EXIT_SUCCEEDED, EXIT_TIMEOUT
from shared.events import EventValidationError
from shared.messaging.config import MessagingSettings
from shared.messaging.connection import open_servicebus
from shared.messaging.disposition import keep_unreadable
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, IncomingMessage
from shared.messaging.outbox import Outbox
from shared.settings import Settings
from tests.messaging.conftest import Platform, worker

ENVIRONMENT = "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"


def test_publish_refuses_an_invalid_event_before_sending_anything(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["publish", "ppmi.pluginpackage.registered", "--environment-id", ENVIRONMENT])

    assert code == EXIT_INVALID
    assert "pluginPackageId" in capsys.readouterr().err
    assert platform.broker.queue(EVENTS_QUEUE).messages() == []


def test_publish_without_wait_sends_the_event_keyed_by_its_id(platform: Platform) -> None:
    code = main(["publish", "ppmi.environment.created", "--environment-id", ENVIRONMENT, "--id", "evt-cli-1"])

    assert code == EXIT_SUCCEEDED
    (sent,) = platform.broker.queue(EVENTS_QUEUE).messages()
    assert sent.message_id == "evt-cli-1"


def test_publish_wait_gives_up_after_the_timeout_with_its_own_exit_code(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["publish", "ppmi.environment.created", "--environment-id", ENVIRONMENT, "--wait", "--timeout", "1"]
    )

    assert code == EXIT_TIMEOUT
    assert "no result within 1s" in capsys.readouterr().err


async def test_publish_wait_exits_by_outcome(platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Pipeline")
    package_id = platform.sandbox.control.register_plugin_package(environment.id, platform.certificate)
    certificate = platform.policy.parent / "signing.cer"
    succeeded = [
        "publish",
        "ppmi.pluginpackage.registered",
        "--environment-id",
        environment.id,
        "--plugin-package-id",
        package_id,
        "--certificate",
        str(certificate),
        "--wait",
        "--timeout",
        "30",
    ]
    unknown = [
        "publish",
        "ppmi.environment.created",
        "--environment-id",
        ENVIRONMENT,
        "--wait",
        "--timeout",
        "30",
    ]

    async with worker():
        codes = [await asyncio.to_thread(main, succeeded), await asyncio.to_thread(main, unknown)]

    assert codes == [EXIT_SUCCEEDED, EXIT_REJECTED]
    output = capsys.readouterr().out
    assert "succeeded" in output
    assert "rejected: " in output


async def test_requeue_lists_then_redrives_a_kept_message(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = IncomingMessage(queue=EVENTS_QUEUE, body=b"{}", message_id="evt-kept")
    disposition = keep_unreadable(kept, EventValidationError("not an event"), MessagingSettings())
    async with open_servicebus(Settings.from_env()) as client:
        outbox = Outbox(client)
        await outbox.send(m for m in disposition.messages if m.queue == KEPT_QUEUE)
        await outbox.close()

    assert await asyncio.to_thread(main, ["requeue", "--dry-run"]) == 0
    listing = capsys.readouterr().out
    assert "evt-kept~kept\trejected\tfrom ppmi-events\tattempt 1\tnot an event" in listing
    assert await asyncio.to_thread(main, ["requeue", "--message-id", "evt-kept"]) == 0
    assert platform.broker.queue(KEPT_QUEUE).messages() == []
    (back,) = platform.broker.queue(EVENTS_QUEUE).messages()
    assert back.message_id != "evt-kept"
    assert back.body == b"{}"


def test_requeue_asks_what_to_redrive(platform: Platform, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["requeue"]) == 2
    assert "--dry-run" in capsys.readouterr().err


async def test_the_worker_stops_cleanly_on_sigterm(platform: Platform) -> None:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("ppmi")),
        "worker",
        env={**os.environ, **platform.env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    while b"receiving" not in await asyncio.wait_for(process.stderr.readline(), 30):
        pass  # logs (the policy's warnings) come first: the worker logs on stderr
    process.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(process.stderr.read(), 30)

    assert await process.wait() == 0
    assert b"stopped" in rest
