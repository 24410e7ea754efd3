"""Microsoft's own Graph SDK (msgraph-sdk) and Python Dataverse client work against the sandbox unchanged.

Each probe names the documented behaviour it checks. The Graph SDK gets an httpx client on the sandbox's
connect-to transport (the SDK's documented custom-client seam); the Dataverse client uses `requests`, so its
host names resolve to the sandbox listener for the test (as an /etc/hosts entry would): URL, Host header, TLS
SNI and certificate checks stay the real ones.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from azure.identity import ManagedIdentityCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph.generated.models.federated_identity_credential import FederatedIdentityCredential
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient
from msgraph_core import GraphClientFactory
from PowerPlatform.Dataverse.client import DataverseClient
from PowerPlatform.Dataverse.core.errors import HttpError

from sandbox.server import Sandbox
from shared.http import build_transport
from shared.settings import Settings

# msgraph-sdk's generated request builders warn about their own deprecated configuration classes.
pytestmark = pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning")
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ISSUER = "https://login.microsoftonline.com/7f2c1900-9fd4-4b89-91d3-79a649996f0a/v2.0"


def credential(name: str, subject: str) -> FederatedIdentityCredential:
    return FederatedIdentityCredential(
        name=name, issuer=ISSUER, subject=subject, audiences=["api://AzureADTokenExchange"]
    )


@pytest.fixture
async def graph(sandbox: Sandbox) -> AsyncIterator[GraphServiceClient]:
    settings = Settings.from_env()
    http = httpx.AsyncClient(transport=build_transport(settings.connect_to, settings.ca_bundle))
    identity = AsyncManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    adapter = GraphRequestAdapter(
        AzureIdentityAuthenticationProvider(identity, scopes=[GRAPH_SCOPE]),
        client=GraphClientFactory.create_with_default_middleware(client=http),
    )
    yield GraphServiceClient(request_adapter=adapter)
    await identity.close()
    await http.aclose()


async def test_graph_sdk_creates_lists_gets_and_deletes_by_name_as_documented(
    sandbox: Sandbox, graph: GraphServiceClient
) -> None:
    """POST → 201 with the credential; list; GET and DELETE by name as a path segment (graph/api_*.md)."""
    application = sandbox.control.create_application("plug-ins")
    fics = graph.applications.by_application_id(application.object_id).federated_identity_credentials
    created = await fics.post(credential("signer-one", "/s/1"))
    listed = await fics.get()
    fetched = await fics.by_federated_identity_credential_id("signer-one").get()
    await fics.by_federated_identity_credential_id("signer-one").delete()
    assert created is not None
    assert created.id
    assert [item.name for item in (listed.value if listed and listed.value else [])] == ["signer-one"]
    assert fetched is not None
    assert fetched.subject == "/s/1"
    remaining = await fics.get()
    assert remaining is not None
    assert remaining.value == []


async def test_graph_sdk_upserts_by_name_with_create_if_missing(
    sandbox: Sandbox, graph: GraphServiceClient
) -> None:
    """PATCH (name='…') with `Prefer: create-if-missing`: 201 when new, 204 when it exists (…-upsert.md)."""
    application = sandbox.control.create_application("plug-ins")
    item = graph.applications.by_application_id(application.object_id)
    by_name = item.federated_identity_credentials_with_name("signer-one")
    prefer: RequestConfiguration[Any] = RequestConfiguration()
    prefer.headers.add("Prefer", "create-if-missing")
    body = FederatedIdentityCredential(
        issuer=ISSUER, subject="/s/1", audiences=["api://AzureADTokenExchange"]
    )
    await by_name.patch(body, request_configuration=prefer)
    await by_name.patch(FederatedIdentityCredential(subject="/s/2"), request_configuration=prefer)
    fetched = await item.federated_identity_credentials.by_federated_identity_credential_id(
        "signer-one"
    ).get()
    assert fetched is not None
    assert fetched.subject == "/s/2"
    statuses = [r.status for r in sandbox.requests if r.method == "PATCH" and r.service == "graph"]
    assert statuses == [201, 204]


async def test_graph_sdk_meets_the_twenty_credential_cap(sandbox: Sandbox, graph: GraphServiceClient) -> None:
    """ "A maximum of 20 objects can be added to an application" (api_application-post-…md)."""
    sandbox.configure(fic_write_hold_seconds=0.0)
    application = sandbox.control.create_application("plug-ins")
    fics = graph.applications.by_application_id(application.object_id).federated_identity_credentials
    for n in range(20):
        await fics.post(credential(f"signer-{n:02d}", f"/s/{n}"))
    with pytest.raises(ODataError) as refused:
        await fics.post(credential("signer-extra", "/s/extra"))
    assert refused.value.response_status_code == 400


@pytest.fixture
def dataverse_hosts(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """`*.dynamics.com` resolves to the sandbox listener for this test."""
    address, port = sandbox.env["PPMI_CONNECT_TO"].rsplit(":", 1)
    resolve = socket.getaddrinfo

    def sandbox_first(host: Any, service: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".dynamics.com"):
            return resolve(address, int(port), *args, **kwargs)
        return resolve(host, service, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", sandbox_first)


def dataverse_client(sandbox: Sandbox, url: str) -> DataverseClient:
    identity = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    return DataverseClient(url.rstrip("/"), identity)


@pytest.mark.usefixtures("dataverse_hosts")
def test_dataverse_client_keeps_a_managed_identity_row_with_choice_labels(sandbox: Sandbox) -> None:
    """Table metadata from EntityDefinitions, choice labels from PicklistAttributeMetadata (IsManaged = 2,
    EnviornmentScope = 1: entity_managedidentity.trimmed.md), create (204, OData-EntityId), update, delete."""
    environment = sandbox.control.create_environment(display_name="Sales")
    client = DataverseClient(
        environment.dataverse_url.rstrip("/"),
        ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]),
    )
    row_id = client.records.create(
        "managedidentity",
        {
            "applicationid": "11111111-2222-3333-4444-555555555555",
            "tenantid": sandbox.env["PPMI_TENANT_ID"],
            "credentialsource": "IsManaged",
            "subjectscope": "EnviornmentScope",
            "version": 2,
            "name": "probe",
        },
    )
    client.records.update("managedidentity", row_id, {"version": 1})
    row = client.records.retrieve(
        "managedidentity", row_id, select=["credentialsource", "subjectscope", "version"]
    )
    client.records.delete("managedidentity", row_id)
    assert row is not None
    assert (row["credentialsource"], row["subjectscope"], row["version"]) == (2, 1, 1)
    assert sandbox.control.rows(environment.id, "managedidentities") == []


@pytest.mark.usefixtures("dataverse_hosts")
def test_dataverse_client_sees_a_stranger_refused_with_not_a_member(sandbox: Sandbox) -> None:
    """403 `0x80072560` "The user is not a member of the organization." for a caller that is no application
    user (Learn: dual-write "Troubleshoot live synchronization issues")."""
    environment = sandbox.control.create_environment(display_name="Sales", app_users=())
    client = DataverseClient(
        environment.dataverse_url.rstrip("/"),
        ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]),
    )
    with pytest.raises(HttpError) as refused:
        client.records.retrieve("managedidentity", "11111111-2222-3333-4444-555555555555")
    assert refused.value.status_code == 403
    assert "0x80072560" in str(refused.value.details) + str(refused.value)
