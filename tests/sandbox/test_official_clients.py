"""The official Azure SDKs work against the sandbox unchanged: azure-mgmt-msi, azure-identity, exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity
from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from sandbox.server import Sandbox

GROUP = "rg-ppmi"


@pytest.fixture
def msi(sandbox: Sandbox) -> Iterator[ManagedServiceIdentityClient]:
    # Closed after each test: a client left open keeps its connection after the sandbox stops.
    with (
        ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]) as credential,
        ManagedServiceIdentityClient(
            credential,
            sandbox.env["PPMI_SUBSCRIPTION_ID"],
            base_url=sandbox.url,
            connection_verify=str(sandbox.ca_path),
        ) as client,
    ):
        yield client


def test_azure_mgmt_msi_creates_gets_lists_and_deletes_identities(msi: ManagedServiceIdentityClient) -> None:
    created = msi.user_assigned_identities.create_or_update(
        GROUP, "uami-sdk", Identity(location="westeurope")
    )
    fetched = msi.user_assigned_identities.get(GROUP, "uami-sdk")
    for n in range(3):
        msi.user_assigned_identities.create_or_update(
            GROUP, f"uami-extra-{n}", Identity(location="westeurope")
        )
    listed = [identity.name for identity in msi.user_assigned_identities.list_by_resource_group(GROUP)]
    msi.user_assigned_identities.delete(GROUP, "uami-sdk")
    assert created.client_id == fetched.client_id
    assert created.principal_id
    assert sorted(listed) == ["uami-extra-0", "uami-extra-1", "uami-extra-2", "uami-sdk"]
    with pytest.raises(ResourceNotFoundError):
        msi.user_assigned_identities.get(GROUP, "uami-sdk")


def test_azure_mgmt_msi_manages_federated_credentials(msi: ManagedServiceIdentityClient) -> None:
    msi.user_assigned_identities.create_or_update(GROUP, "uami-sdk", Identity(location="westeurope"))
    credential = FederatedIdentityCredential(
        issuer="https://login.microsoftonline.com/tenant/v2.0",
        subject="/eid1/c/pub/t/x/a/y/n/plugin/e/z/h/abc",
        audiences=["api://AzureADTokenExchange"],
    )
    created = msi.federated_identity_credentials.create_or_update(GROUP, "uami-sdk", "signer-one", credential)
    fetched = msi.federated_identity_credentials.get(GROUP, "uami-sdk", "signer-one")
    listed = list(msi.federated_identity_credentials.list(GROUP, "uami-sdk"))
    msi.federated_identity_credentials.delete(GROUP, "uami-sdk", "signer-one")
    assert created.subject == fetched.subject == credential.subject
    assert [item.name for item in listed] == ["signer-one"]
    assert list(msi.federated_identity_credentials.list(GROUP, "uami-sdk")) == []


def test_azure_mgmt_msi_surfaces_the_fic_cap_as_an_http_error(
    msi: ManagedServiceIdentityClient, sandbox: Sandbox
) -> None:
    sandbox.configure(fic_write_hold_seconds=0.0)
    msi.user_assigned_identities.create_or_update(GROUP, "uami-sdk", Identity(location="westeurope"))
    for n in range(20):
        credential = FederatedIdentityCredential(
            issuer="https://issuer.example", subject=f"/s/{n}", audiences=["api://AzureADTokenExchange"]
        )
        msi.federated_identity_credentials.create_or_update(GROUP, "uami-sdk", f"signer-{n:02d}", credential)
    extra = FederatedIdentityCredential(
        issuer="https://issuer.example", subject="/s/extra", audiences=["api://AzureADTokenExchange"]
    )
    with pytest.raises(HttpResponseError) as raised:
        msi.federated_identity_credentials.create_or_update(GROUP, "uami-sdk", "signer-extra", extra)
    assert raised.value.status_code == 400


@pytest.mark.parametrize("entra", [False, True], ids=["instrumentation-key", "entra"])
def test_azure_monitor_exporter_sends_a_span_to_ingestion(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, entra: bool
) -> None:
    monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
    monkeypatch.setenv("APPLICATIONINSIGHTS_SDKSTATS_DISABLED", "true")
    credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]) if entra else None
    exporter = AzureMonitorTraceExporter(
        connection_string=sandbox.env["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        disable_offline_storage=True,
        credential=credential,
    )
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("sandbox-test").start_as_current_span("handle message", kind=SpanKind.CONSUMER):
        pass
    provider.shutdown()
    envelopes = sandbox.telemetry_envelopes()
    assert [e["data"]["baseType"] for e in envelopes] == ["RequestData"]
    assert envelopes[0]["data"]["baseData"]["name"] == "handle message"
    recorded = sandbox.call_in_loop(lambda: [t.authenticated for t in sandbox.runtime.state.telemetry])
    assert recorded == [entra]
