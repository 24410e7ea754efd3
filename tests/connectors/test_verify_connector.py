"""`ppmi verify --connector-id`: a whole chain holds; each broken link is named with its fix."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from sandbox.control import ApplicationInfo
from sandbox.server import Sandbox
from shared.cli import main
from shared.engine import open_runtime
from shared.events import Event
from shared.policy import Policy
from shared.settings import Settings
from tests.connectors.conftest import REDIRECT, connector_event
from tests.engine.conftest import FAST_BACKOFF, succeed

GRAPH = "https://graph.microsoft.com"


def verify(
    policy: Policy,
    environment_id: str,
    application: ApplicationInfo,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
) -> tuple[int, dict[str, Any]]:
    del policy  # written by the fixture; the command reads it from PPMI_POLICY_FILE
    arguments = [
        "verify",
        "--environment-id",
        environment_id,
        "--connector-id",
        "shared_weather",
        "--application-id",
        application.app_id,
        "--output",
        "json",
        *extra,
    ]
    code = main(arguments)
    return code, json.loads(capsys.readouterr().out)


def register(policy: Policy, incoming: Event) -> None:
    async def run() -> None:
        async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
            await succeed(runtime, incoming)

    asyncio.run(run())


@pytest.fixture(autouse=True)
def policy_file(
    sandbox: Sandbox, connector_policy: Policy, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox.configure(fic_write_hold_seconds=0.0)
    monkeypatch.setenv("PPMI_POLICY_FILE", str(tmp_path / "policy.yaml"))


def test_a_registered_connector_verifies_clean(
    sandbox: Sandbox,
    connector_app: ApplicationInfo,
    connector_policy: Policy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    incoming = connector_event(sandbox, connector_app, environment, "shared_weather")
    register(connector_policy, incoming)

    code, report = verify(
        connector_policy,
        environment,
        connector_app,
        capsys,
        "--subject",
        incoming.data.subject,  # type: ignore[attr-defined]
    )

    assert code == 0, report
    assert report["findings"] == []
    assert {"link": "redirect URI", "target": REDIRECT} in report["checked"]


def test_a_missing_fic_a_different_subject_and_a_missing_redirect_are_named(
    sandbox: Sandbox,
    connector_app: ApplicationInfo,
    connector_policy: Policy,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    code, missing = verify(connector_policy, environment, connector_app, capsys)
    register(connector_policy, connector_event(sandbox, connector_app, environment, "shared_weather"))
    with sandbox.client(GRAPH, base_url=GRAPH) as graph:
        graph.patch(f"/v1.0/applications/{connector_app.object_id}", json={"web": {"redirectUris": []}})

    later, broken = verify(
        connector_policy, environment, connector_app, capsys, "--subject", "/eid1/c/pub/other"
    )

    assert code == 1
    assert [f["code"] for f in missing["findings"]] == ["connector.fic_missing"]
    assert "ppmi publish ppmi.connector.registered" in missing["findings"][0]["fix"]
    assert later == 1
    assert sorted(f["code"] for f in broken["findings"]) == [
        "connector.fic_different",
        "connector.redirect_missing",
    ]


def test_an_app_the_policy_does_not_allow_is_named_before_anything_is_read(
    sandbox: Sandbox, connector_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = sandbox.control.create_application("Someone else's")
    before = len(sandbox.requests)

    code, report = verify(connector_policy, "7efcc31a-c410-e20e-9b95-dd448cedf653", stranger, capsys)

    assert code == 1
    assert [f["code"] for f in report["findings"]] == ["connector.application_not_allowed"]
    assert [r for r in sandbox.requests[before:] if r.service == "graph"] == []


def test_connector_options_without_the_app_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--environment-id", "7efcc31a-c410-e20e-9b95-dd448cedf653", "--connector-id", "x"])

    assert code == 2
    assert "--application-id" in capsys.readouterr().err
