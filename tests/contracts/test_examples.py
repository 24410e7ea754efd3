"""The clients read Microsoft's official examples and the real captures unchanged: one test per file."""

from __future__ import annotations

import pytest

from shared.clients.dataverse import DataverseClient
from shared.clients.environments import EnvironmentsClient, Readiness
from shared.clients.graph import GraphClient
from shared.errors import ResourceNotFoundError
from shared.fic import FederatedCredential
from shared.http import HttpClient
from tests.contracts.documents import json_bodies, load_json, response_bodies, text
from tests.http.conftest import Reply, ScriptedServer

DATAVERSE_DOCS = "dataverse"
APPLICATION = "bcd7c908-1c4d-4d48-93ee-ff38349a75c8"
ROW = "00000000-0000-0000-0000-000000000001"
CREDENTIAL = FederatedCredential(
    issuer="https://login.microsoftonline.com/3d1e2be9-a10a-4a0c-8380-7ce190f98ed9/v2.0",
    subject="a7d388c3-5e3f-4959-ac7d-786b3383006a",
    audience="api://AzureADTokenExchange",
)


def environments(server: ScriptedServer, http: HttpClient) -> EnvironmentsClient:
    return EnvironmentsClient(http, server.base_url, server.base_url, bap_audience=server.base_url)


@pytest.mark.parametrize(
    "document",
    [
        "powerplatform/capture_list-environments.2024-10-01.response.json",
        "powerplatform/capture_readme_testign-the-power-platform-api.list-environments.md",
    ],
)
async def test_the_real_environment_list_reads_as_six_ready_environments(
    http: HttpClient, server: ScriptedServer, document: str
) -> None:
    body = load_json(document) if document.endswith(".json") else json_bodies(document)[-1]
    server.script = [Reply(200, body)]
    found = await environments(server, http).list_environments()
    assert [environment.readiness for environment in found] == [Readiness.READY] * 6
    assert found[0].id == "Default-1a70d84e-bde9-4a11-ba5d-1305bb72ccb4"


async def test_bap_environment_not_found_reads_as_no_environment(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [Reply(404, load_json("errors/tf-fixture_bap_EnvironmentNotFound.404.json"))]
    assert await environments(server, http).get_environment("00000000-0000-0000-0000-000000000001") is None


async def test_graph_list_example(http: HttpClient, server: ScriptedServer) -> None:
    (body,) = response_bodies("graph/api_application-list-federatedidentitycredentials.md")
    server.script = [Reply(200, body)]
    (stored,) = await GraphClient(http, server.base_url).list_federated_credentials(APPLICATION)
    assert (stored.name, stored.holds(CREDENTIAL)) == ("testing", True)


async def test_graph_get_example_even_with_its_value_wrapper(
    http: HttpClient, server: ScriptedServer
) -> None:
    (body,) = response_bodies("graph/api_federatedidentitycredential-get.md")
    server.script = [Reply(200, body)]
    stored = await GraphClient(http, server.base_url).get_federated_credential(APPLICATION, "testing")
    assert stored is not None
    assert stored.holds(CREDENTIAL)


async def test_graph_create_example(http: HttpClient, server: ScriptedServer) -> None:
    (body,) = response_bodies("graph/api_application-post-federatedidentitycredentials.md")
    server.script = [Reply(200, {"value": [body]})]
    (stored,) = await GraphClient(http, server.base_url).list_federated_credentials(APPLICATION)
    assert stored.audiences == ("api://AzureADTokenExchange",)


async def test_graph_upsert_examples_201_created_and_204_existing(
    http: HttpClient, server: ScriptedServer
) -> None:
    (created,) = response_bodies("graph/api_federatedidentitycredential-upsert.md")
    server.script = [Reply(201, created), Reply(204, None)]
    graph = GraphClient(http, server.base_url)
    assert await graph.upsert_federated_credential(APPLICATION, "fic01-app-65278", CREDENTIAL) is True
    assert await graph.upsert_federated_credential(APPLICATION, "fic01-app-65278", CREDENTIAL) is False


async def test_graph_delete_example_204(http: HttpClient, server: ScriptedServer) -> None:
    assert "HTTP/1.1 204 No Content" in text("graph/api_federatedidentitycredential-delete.md")
    server.script = [Reply(204, None)]
    graph = GraphClient(http, server.base_url)
    assert await graph.delete_federated_credential(APPLICATION, "testing") is True


async def test_graph_resource_json_representation(http: HttpClient, server: ScriptedServer) -> None:
    (representation, *_) = json_bodies("graph/resources_federatedidentitycredential.md")
    server.script = [Reply(200, {"value": [representation]})]
    (stored,) = await GraphClient(http, server.base_url).list_federated_credentials(APPLICATION)
    assert stored.name == representation["name"]


async def test_dataverse_conditional_update_of_a_missing_row_is_not_found(
    http: HttpClient, server: ScriptedServer
) -> None:
    missing, exists, *_ = [
        b for b in response_bodies("dataverse/webapi_perform-conditional-operations.md") if "error" in b
    ]
    server.script = [Reply(404, missing), Reply(412, exists)]
    dataverse = DataverseClient(http, server.base_url)
    with pytest.raises(ResourceNotFoundError, match="Does Not Exist"):
        await dataverse.update_managed_identity(ROW, {"version": 2})
    assert await dataverse.create_managed_identity(ROW, {"version": 2}) is False


async def test_dataverse_delete_example_204(http: HttpClient, server: ScriptedServer) -> None:
    assert "HTTP/1.1 204 No Content" in text("dataverse/webapi_update-delete-entities.upsert-sections.md")
    server.script = [Reply(204, None)]
    assert await DataverseClient(http, server.base_url).delete_managed_identity(ROW) is True


async def test_dataverse_subject_function_response(http: HttpClient, server: ScriptedServer) -> None:
    assert "| FICSubject | Edm.String |" in text(
        "dataverse/learn_webapi-reference_GetComponentManagedIdentityFIC.excerpts.md"
    )
    server.script = [Reply(200, {"FICSubject": "/eid1/c/pub/t/x/a/y/n/plugin/e/z/h/ab"})]
    subject = await DataverseClient(http, server.base_url).component_fic_subject("pluginpackage", ROW)
    assert subject == "/eid1/c/pub/t/x/a/y/n/plugin/e/z/h/ab"
