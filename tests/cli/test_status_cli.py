"""`ppmi status`: what ppmi holds for every environment it manages, and the last outcome it recorded."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.cli import main
from shared.cli._exit import ExitCode
from tests.cli.schemas import documented
from tests.messaging.conftest import Platform, worker


def _publish(*argv: str) -> int:
    return main(["publish", *argv, "--timeout", "30"])


async def test_status_lists_each_environment_with_what_it_holds_and_its_last_outcome(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    sales = platform.sandbox.control.create_environment(display_name="Sales")
    service = platform.sandbox.control.create_environment(display_name="Service")
    package = platform.sandbox.control.register_plugin_package(sales.id, platform.certificate)
    missing_package = str(uuid.uuid4())
    certificate = str(platform.policy.parent / "signing.cer")
    async with worker():
        # Without --wait the results go to the default reply session, where status reads them.
        for environment in (sales.id, service.id):
            assert (
                await asyncio.to_thread(_publish, "ppmi.environment.created", "--environment-id", environment)
                == ExitCode.OK
            )
        await asyncio.sleep(3)
        assert (
            await asyncio.to_thread(
                _publish,
                "ppmi.pluginpackage.registered",
                "--environment-id",
                service.id,
                "--plugin-package-id",
                missing_package,
                "--certificate",
                certificate,
            )
            == ExitCode.OK
        )
        await asyncio.sleep(3)
    capsys.readouterr()

    assert await asyncio.to_thread(main, ["status", "--output", "json"]) == ExitCode.OK
    answered = documented("status", capsys.readouterr().out)

    by_id = {item["environmentId"]: item for item in answered["environments"]}
    assert answered["outcomesRead"] is True
    assert {sales.id, service.id} <= set(by_id)  # with the tenant's default environment, in scope too
    held = by_id[sales.id]
    assert held["identity"] == f"ppmi-{sales.id}"
    assert len(held["credentials"]) == 2
    assert (held["row"]["exists"], held["row"]["version"]) == (True, 2)
    (bound,) = held["bindings"]
    assert bound.startswith(f"pluginpackage {package} (")
    assert [grant["present"] for grant in held["grants"]] == [True]
    assert held["lastOutcome"]["outcome"] == "succeeded"
    assert held["lastOutcome"]["source"] == "ppmi-results/ppmi-default"
    rejected = by_id[service.id]["lastOutcome"]
    assert rejected["outcome"] == "rejected"
    assert missing_package in rejected["reason"]
    assert rejected["eventType"] == "ppmi.pluginpackage.registered"

    assert await asyncio.to_thread(main, ["status", "--environment-id", service.id]) == ExitCode.OK
    text = capsys.readouterr().out
    assert text.startswith(f"environment {service.id} (Service,")
    assert f"identity     ppmi-{service.id}" in text
    assert "last outcome rejected" in text


def test_status_without_service_bus_settings_still_shows_what_is_held(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Sales")
    assert main(["apply", "--environment-id", environment.id]) == ExitCode.OK
    monkeypatch.delenv("ServiceBusConnection__fullyQualifiedNamespace")
    capsys.readouterr()

    assert main(["status"]) == ExitCode.OK

    captured = capsys.readouterr()
    header, *lines = captured.out.splitlines()
    assert header.split()[:3] == ["environment", "name", "FICs"]
    (line,) = [line for line in lines if line.startswith(environment.id)]
    assert line.split()[1:5] == ["Sales", "2", "v2", "0"]
    assert "no last outcomes: ServiceBusConnection__fullyQualifiedNamespace is not set" in captured.err
