"""Microsoft Graph federated identity credentials on app registrations."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import Sandbox

GRAPH = "https://graph.microsoft.com"


@pytest.fixture
def graph(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox.client(GRAPH, base_url=GRAPH) as client:
        yield client


def fic(name: str, subject: str) -> dict[str, object]:
    return {
        "name": name,
        "issuer": "https://login.microsoftonline.com/tenant/v2.0",
        "subject": subject,
        "audiences": ["api://AzureADTokenExchange"],
    }


def test_fic_created_by_object_id_is_listed_by_app_id(graph: httpx.Client, sandbox: Sandbox) -> None:
    app = sandbox.control.create_application("plug-ins")
    created = graph.post(
        f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials", json=fic("one", "/s/1")
    )
    listed = graph.get(f"/v1.0/applications(appId='{app.app_id}')/federatedIdentityCredentials").json()
    assert created.status_code == 201
    assert [item["subject"] for item in listed["value"]] == ["/s/1"]


def test_patch_by_name_with_create_if_missing_creates_then_updates(
    graph: httpx.Client, sandbox: Sandbox
) -> None:
    app = sandbox.control.create_application("plug-ins")
    url = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials(name='signer')"
    body = {k: v for k, v in fic("signer", "/s/1").items() if k != "name"}
    created = graph.patch(url, json=body, headers={"Prefer": "create-if-missing"})
    updated = graph.patch(url, json={"subject": "/s/2"})
    assert (created.status_code, updated.status_code) == (201, 204)
    by_name = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials/signer"
    assert graph.get(by_name).json()["subject"] == "/s/2"


def test_get_and_delete_take_the_name_as_a_path_segment_as_documented(
    graph: httpx.Client, sandbox: Sandbox
) -> None:
    app = sandbox.control.create_application("plug-ins")
    fics = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
    created = graph.post(fics, json=fic("signer", "/s/1")).json()
    by_id = graph.get(f"{fics}/{created['id']}")
    deleted = graph.delete(f"{fics}/signer")
    assert (by_id.status_code, by_id.json()["name"]) == (200, "signer")
    assert deleted.status_code == 204
    assert graph.get(f"{fics}/signer").status_code == 404


def test_get_and_delete_by_name_key_are_refused_as_undocumented(
    graph: httpx.Client, sandbox: Sandbox
) -> None:
    app = sandbox.control.create_application("plug-ins")
    fics = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
    graph.post(fics, json=fic("signer", "/s/1"))
    statuses = [graph.request(method, f"{fics}(name='signer')").status_code for method in ("GET", "DELETE")]
    assert statuses == [400, 400]
    assert graph.get(f"{fics}/signer").status_code == 200


def test_patch_by_name_without_create_if_missing_only_updates(graph: httpx.Client, sandbox: Sandbox) -> None:
    app = sandbox.control.create_application("plug-ins")
    url = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials(name='signer')"
    response = graph.patch(url, json={k: v for k, v in fic("signer", "/s/1").items() if k != "name"})
    assert response.status_code == 404


def test_duplicate_fic_name_gets_request_multiple_objects_with_same_key_value(
    graph: httpx.Client, sandbox: Sandbox
) -> None:
    app = sandbox.control.create_application("plug-ins")
    url = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
    graph.post(url, json=fic("one", "/s/1"))
    response = graph.post(url, json=fic("one", "/s/2"))
    assert response.json()["error"]["code"] == "Request_MultipleObjectsWithSameKeyValue"


def test_twenty_first_application_fic_is_refused(graph: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure(fic_write_hold_seconds=0.0)
    app = sandbox.control.create_application("plug-ins")
    url = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
    statuses = [graph.post(url, json=fic(f"signer-{n}", f"/s/{n}")).status_code for n in range(21)]
    assert statuses == [201] * 20 + [400]


def test_duplicate_issuer_and_subject_on_an_application_is_refused(
    graph: httpx.Client, sandbox: Sandbox
) -> None:
    app = sandbox.control.create_application("plug-ins")
    url = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
    graph.post(url, json=fic("one", "/s/same"))
    response = graph.post(url, json=fic("two", "/s/same"))
    assert response.status_code == 400
    assert response.json()["error"]["innerError"]["request-id"]


def test_overlapping_application_fic_writes_get_directory_concurrency_violation(sandbox: Sandbox) -> None:
    sandbox.configure(fic_write_hold_seconds=0.3)
    app = sandbox.control.create_application("plug-ins")

    def write(n: int) -> httpx.Response:
        with sandbox.client(GRAPH, base_url=GRAPH) as client:
            url = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
            return client.post(url, json=fic(f"signer-{n}", f"/s/{n}"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        responses = list(pool.map(write, range(3)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409]
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "Directory_ConcurrencyViolation"
    }


def test_delete_removes_and_then_reports_not_found(graph: httpx.Client, sandbox: Sandbox) -> None:
    app = sandbox.control.create_application("plug-ins")
    base = f"/v1.0/applications/{app.object_id}/federatedIdentityCredentials"
    created = graph.post(base, json=fic("one", "/s/1")).json()
    assert graph.delete(f"{base}/{created['id']}").status_code == 204
    assert graph.delete(f"{base}/{created['id']}").json()["error"]["code"] == "Request_ResourceNotFound"


def test_unknown_application_is_not_found(graph: httpx.Client) -> None:
    response = graph.get(
        "/v1.0/applications/00000000-0000-0000-0000-000000000000/federatedIdentityCredentials"
    )
    assert response.status_code == 404


def test_application_and_service_principal_are_found_by_app_id(graph: httpx.Client, sandbox: Sandbox) -> None:
    app = sandbox.control.create_application("plug-ins")
    sandbox.control.create_application("other")
    listed = graph.get("/v1.0/applications", params={"$filter": f"appId eq '{app.app_id}'"}).json()["value"]
    principal = graph.get(f"/v1.0/servicePrincipals(appId='{app.app_id}')").json()
    assert [item["id"] for item in listed] == [app.object_id]
    assert principal["id"] == app.service_principal_id
