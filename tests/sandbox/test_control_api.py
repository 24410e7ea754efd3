"""The control API under /_sandbox/: what pac, the admin centre and Entra would do, plus inspection."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import Sandbox
from tests.sandbox.certificates import self_signed
from tests.sandbox.conftest import ARM, MSI_VERSION


@pytest.fixture
def control(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox.client(base_url=sandbox.url) as client:
        yield client


def test_environment_with_a_registered_assembly_shows_in_the_state_dump(control: httpx.Client) -> None:
    environment = control.post("/_sandbox/environments", json={"displayName": "Contoso Dev"}).json()
    certificate = base64.b64encode(self_signed()).decode()
    assembly = control.post(
        f"/_sandbox/environments/{environment['id']}/pluginassemblies",
        json={"name": "Contoso", "certificate": certificate},
    ).json()
    state = control.get("/_sandbox/state").json()
    mine = next(e for e in state["environments"] if e["id"] == environment["id"])
    assert list(mine["tables"]["pluginassemblies"]) == [assembly["id"]]
    assert environment["dataverse_url"].startswith("https://org")


def test_registering_without_a_certificate_says_what_is_missing(control: httpx.Client) -> None:
    environment = control.post("/_sandbox/environments", json={}).json()
    response = control.post(f"/_sandbox/environments/{environment['id']}/pluginpackages", json={"name": "x"})
    assert response.status_code == 400
    assert "certificate" in response.json()["error"]["message"]


def test_request_log_records_service_status_and_error_code(
    control: httpx.Client, arm: httpx.Client, identities_url: str
) -> None:
    arm.get(f"{identities_url}/missing", params=MSI_VERSION)
    (record,) = control.get("/_sandbox/requests").json()
    assert (record["service"], record["method"], record["status"], record["error_code"], record["write"]) == (
        "arm",
        "GET",
        404,
        "ResourceNotFound",
        False,
    )
    assert record["host"] == "management.azure.com"
    assert record["finished"] >= record["started"]


def test_reset_forgets_everything_but_keeps_the_identifiers(
    control: httpx.Client, arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    arm.put(f"{identities_url}/uami", params=MSI_VERSION, json={"location": "westeurope"})
    env_before = sandbox.env
    assert control.post("/_sandbox/reset").status_code == 200
    assert control.get("/_sandbox/state").json()["identities"] == []
    assert sandbox.env == env_before


def test_identifiers_are_the_same_for_the_same_seed(sandbox: Sandbox) -> None:
    with sandbox.client(ARM, base_url=ARM) as arm:
        url = (
            f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/uami"
        )
        first = arm.put(url, params=MSI_VERSION, json={"location": "westeurope"}).json()["properties"]
        sandbox.reset()
        second = arm.put(url, params=MSI_VERSION, json={"location": "westeurope"}).json()["properties"]
    assert first == second


def test_application_registration_and_token_minting(control: httpx.Client, sandbox: Sandbox) -> None:
    app = control.post("/_sandbox/applications", json={"displayName": "plug-ins"}).json()
    token = control.post(
        "/_sandbox/tokens", json={"resource": "https://graph.microsoft.com", "appId": app["app_id"]}
    )
    with sandbox.client(base_url="https://graph.microsoft.com") as graph:
        response = graph.get(
            f"/v1.0/applications/{app['object_id']}",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
    assert response.json()["appId"] == app["app_id"]


def test_unknown_config_keys_are_refused(control: httpx.Client) -> None:
    response = control.patch("/_sandbox/config", json={"fic_limit": 40})
    assert response.status_code == 400


def test_solution_import_drops_package_bindings(control: httpx.Client, sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment()
    package = sandbox.control.register_plugin_package(environment.id, self_signed())
    row_id = "6f1c2a52-9d1e-4c3b-8a57-0a4b7c1d2e3f"
    url = environment.dataverse_url.rstrip("/")
    headers = {"OData-MaxVersion": "4.0", "OData-Version": "4.0"}
    with sandbox.client(url, base_url=url, headers=headers) as dataverse:
        dataverse.post("/api/data/v9.2/managedidentities", json={"managedidentityid": row_id, "version": 2})
        dataverse.patch(
            f"/api/data/v9.2/pluginpackages({package})",
            json={"managedidentityid@odata.bind": f"/managedidentities({row_id})"},
        )
    imported = control.post(f"/_sandbox/environments/{environment.id}/solutionimports").json()
    assert imported == {"unbound": 1}
    assert sandbox.control.rows(environment.id, "pluginpackages")[0]["_managedidentityid_value"] is None
