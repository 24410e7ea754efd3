"""The Power Platform API as it really answers: readiness from real fields, both page-link spellings."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from shared.clients.environments import EnvironmentsClient, Readiness, environment_from
from shared.http import HttpClient
from tests.http.conftest import Reply, ScriptedServer

CONTRACTS = Path(__file__).parents[2] / "contracts"
CAPTURE = CONTRACTS / "powerplatform/capture_list-environments.2024-10-01.response.json"
TENANT = "1a70d84e-bde9-4a11-ba5d-1305bb72ccb4"


def live(**changes: object) -> dict[str, object]:
    """The first environment of the real capture, with `changes`."""
    item: dict[str, object] = json.loads(CAPTURE.read_text(encoding="utf-8"))["value"][0]
    return {**item, **changes}


def test_every_live_environment_of_the_real_capture_is_ready() -> None:
    environments = [environment_from(item) for item in json.loads(CAPTURE.read_text())["value"]]
    assert [environment.readiness for environment in environments] == [Readiness.READY] * 6
    assert {environment.tenant_id for environment in environments} == {TENANT}
    assert all(environment.deleted_time is None for environment in environments)


def test_a_real_deletion_date_means_deleted() -> None:
    environment = environment_from(live(deletedDateTime="2026-06-01T10:00:00Z"))
    assert environment.readiness is Readiness.DELETED
    assert "was deleted on 2026-06-01 10:00 UTC" in environment.readiness_reason()


@pytest.mark.parametrize(
    ("changes", "readiness"),
    [
        ({"url": None, "dataverseId": None}, Readiness.NO_DATAVERSE),
        ({"url": "", "state": "Ready"}, Readiness.NO_DATAVERSE),
        ({"url": None, "state": "NotReady"}, Readiness.PROVISIONING),
        ({"state": "Disabled"}, Readiness.DISABLED),
        ({"state": None, "deletedDateTime": None}, Readiness.READY),
    ],
)
def test_readiness_follows_the_dataverse_url_state_and_deletion(
    changes: dict[str, object], readiness: Readiness
) -> None:
    assert environment_from(live(**changes)).readiness is readiness


def test_an_unknown_state_is_logged_and_does_not_hold_back_an_environment_with_dataverse() -> None:
    state = f"Hibernating{uuid.uuid4().hex[:6]}"  # each value is reported once per process
    with capture_logs() as logs:
        environment = environment_from(live(state=state))
        environment_from(live(state=state))
    assert environment.ready
    assert [(log["event"], log["state"]) for log in logs] == [("environment.state.unknown", state)]


@pytest.mark.parametrize("link_field", ["@odata.nextlink", "@odata.nextLink"])
async def test_both_spellings_of_the_page_link_are_followed(
    http: HttpClient, server: ScriptedServer, link_field: str
) -> None:
    client = EnvironmentsClient(http, server.base_url, server.base_url, bap_audience=server.base_url)
    next_page = f"{server.base_url}/environmentmanagement/environments?api-version=2024-10-01&$skip=1"
    server.script = [
        Reply(200, {"value": [live(id="one")], link_field: next_page}),
        Reply(200, {"value": [live(id="two")]}),
    ]
    environments = await client.list_environments()
    assert [environment.id for environment in environments] == ["one", "two"]
