"""The typed calls the engine does not always need, checked against the sandbox's contracts."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.clients.arm import IdentityAddress, role_definition_path
from shared.clients.dataverse import DataverseClient
from shared.engine import Runtime
from shared.fic import FederatedCredential
from shared.http import HttpClient
from tests.http.conftest import Reply, ScriptedServer

CREDENTIAL = FederatedCredential(
    issuer="https://login.microsoftonline.com/7f2c1900-9fd4-4b89-91d3-79a649996f0a/v2.0",
    subject="/eid1/c/pub/t/x/a/y/n/plugin/e/z/h/0",
    audience="api://AzureADTokenExchange",
)
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


async def test_a_fic_is_created_read_and_deleted_on_a_managed_identity(runtime: Runtime) -> None:
    settings = runtime.policy.identity
    address = IdentityAddress(str(settings.subscription_id), str(settings.resource_group), "ppmi-fic-test")
    await runtime.arm.create_or_update_identity(address, location="westeurope", tags={})

    assert await runtime.arm.create_or_update_federated_credential(address, "fic-one", CREDENTIAL) is True
    assert await runtime.arm.create_or_update_federated_credential(address, "fic-one", CREDENTIAL) is False
    stored = await runtime.arm.get_federated_credential(address, "fic-one")
    assert stored is not None
    assert stored.holds(CREDENTIAL)
    assert await runtime.arm.delete_federated_credential(address, "fic-one") is True
    assert await runtime.arm.get_federated_credential(address, "fic-one") is None
    assert await runtime.arm.delete_identity(address) is True
    assert await runtime.arm.delete_identity(address) is False
    assert (
        await runtime.arm.delete_federated_credential(address, "fic-one") is False
    )  # the parent is gone too


async def test_role_assignments_are_listed_for_their_principal(runtime: Runtime) -> None:
    settings = runtime.policy.identity
    subscription = str(settings.subscription_id)
    address = IdentityAddress(subscription, str(settings.resource_group), "ppmi-role-test")
    identity, _ = await runtime.arm.create_or_update_identity(address, location="westeurope", tags={})
    scope = f"/subscriptions/{subscription}/resourceGroups/rg-kv"
    name = "0b6f1f44-4d2a-4ec4-9a43-3f0f3c2a9e11"
    created = await runtime.arm.create_role_assignment(
        scope,
        name,
        role_definition_id=READER,
        principal_id=identity.principal_id,
    )
    again = await runtime.arm.create_role_assignment(
        scope,
        "1b6f1f44-4d2a-4ec4-9a43-3f0f3c2a9e11",
        role_definition_id=READER,
        principal_id=identity.principal_id,
    )

    assert (created, again) == (True, False)  # same scope, principal and role under another name: exists
    (listed,) = await runtime.arm.list_role_assignments_for_principal(scope, identity.principal_id)
    assert (listed.name, listed.role_definition_id) == (name, READER)
    assert await runtime.arm.get_role_assignment(scope, name) == listed


async def test_a_role_is_granted_on_a_resource_in_another_subscription_than_the_identity(
    runtime: Runtime,
) -> None:
    settings = runtime.policy.identity
    address = IdentityAddress(str(settings.subscription_id), str(settings.resource_group), "ppmi-cross-sub")
    identity, _ = await runtime.arm.create_or_update_identity(address, location="westeurope", tags={})
    scope = "/subscriptions/5d1c0e6a-8b2f-4c3d-9e4f-0a1b2c3d4e5f/resourceGroups/rg-shared-kv"

    created = await runtime.arm.create_role_assignment(
        scope,
        "2b6f1f44-4d2a-4ec4-9a43-3f0f3c2a9e11",
        role_definition_id=READER,
        principal_id=identity.principal_id,
    )

    assert created is True
    (listed,) = await runtime.arm.list_role_assignments_for_principal(scope, identity.principal_id)
    assert listed.role_definition_id == READER


def test_a_role_definition_is_named_under_the_scope_s_own_subscription_or_none() -> None:
    assert role_definition_path("/subscriptions/abc/resourceGroups/rg", READER) == (
        f"/subscriptions/abc/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    )
    assert role_definition_path("/providers/Microsoft.Management/managementGroups/mg", READER) == (
        f"/providers/Microsoft.Authorization/roleDefinitions/{READER}"
    )


async def test_graph_fics_are_upserted_read_and_deleted(sandbox: Sandbox, runtime: Runtime) -> None:
    application = sandbox.control.create_application("ppmi plug-ins")
    graph = runtime.graph
    assert await graph.upsert_federated_credential(application.object_id, "fic-one", CREDENTIAL) is True
    assert await graph.upsert_federated_credential(application.object_id, "fic-one", CREDENTIAL) is False
    stored = await graph.get_federated_credential(application.object_id, "fic-one")
    assert stored is not None
    assert stored.holds(CREDENTIAL)
    assert [item.name for item in await graph.list_federated_credentials(application.object_id)] == [
        "fic-one"
    ]
    assert await graph.delete_federated_credential(application.object_id, "fic-one") is True
    assert await graph.delete_federated_credential(application.object_id, "fic-one") is False


@pytest.mark.parametrize("status", [400, 404, 501])
async def test_a_dataverse_without_the_subject_function_gives_no_subject_rather_than_an_error(
    http: HttpClient, server: ScriptedServer, status: int
) -> None:
    server.script = [Reply(status, {"error": {"code": "0x8006088a", "message": "not offered"}})]
    dataverse = DataverseClient(http, server.base_url)

    assert (
        await dataverse.component_fic_subject("pluginpackage", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d") is None
    )
