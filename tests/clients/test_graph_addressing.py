"""Graph FICs are read and deleted at `federatedIdentityCredentials/{name}`; the upsert uses `(name='…')`."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import Runtime
from shared.fic import FederatedCredential

CREDENTIAL = FederatedCredential(
    issuer="https://login.microsoftonline.com/7f2c1900-9fd4-4b89-91d3-79a649996f0a/v2.0",
    subject="/eid1/c/pub/t/ABksf9SfiUuR03mmSZlvCg/a/qzXoWDkuqUa3l6zM5mM0Rw/n/plugin/e/x/h/ab",
    audience="api://AzureADTokenExchange",
)


async def test_a_credential_is_upserted_read_and_deleted_as_graph_documents(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    application = sandbox.control.create_application("plug-ins")
    before = len(sandbox.requests)

    created = await runtime.graph.upsert_federated_credential(
        application.object_id, "ppmi-signer", CREDENTIAL
    )
    stored = await runtime.graph.get_federated_credential(application.object_id, "ppmi-signer")
    deleted = await runtime.graph.delete_federated_credential(application.object_id, "ppmi-signer")
    gone = await runtime.graph.get_federated_credential(application.object_id, "ppmi-signer")

    assert (created, deleted, gone) == (True, True, None)
    assert stored is not None
    assert stored.holds(CREDENTIAL)
    fics = f"/v1.0/applications/{application.object_id}/federatedIdentityCredentials"
    assert [(r.method, r.path, r.status) for r in sandbox.requests[before:] if r.service == "graph"] == [
        ("PATCH", f"{fics}(name='ppmi-signer')", 201),
        ("GET", f"{fics}/ppmi-signer", 200),
        ("DELETE", f"{fics}/ppmi-signer", 204),
        ("GET", f"{fics}/ppmi-signer", 404),
    ]
