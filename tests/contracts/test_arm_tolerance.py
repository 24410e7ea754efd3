"""What ARM may send beyond its examples: the client reads it, and logs values it does not know."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from shared.clients.arm import ArmClient, IdentityAddress
from shared.errors import MissingRight
from tests.contracts.replay import Canned, ReplayServer

ADDRESS = IdentityAddress("sub", "rg-ppmi", "uami")


async def test_an_isolation_scope_ppmi_does_not_know_is_kept_and_logged(
    arm: ArmClient, replay: ReplayServer
) -> None:
    reply = {
        "name": "uami",
        "location": "westeurope",
        "properties": {"clientId": "c", "isolationScope": "Zonal"},
    }
    replay.replies[:] = [Canned(200, reply)]
    with capture_logs() as logs:
        identity = await arm.get_identity(ADDRESS)
    assert identity is not None
    assert identity.isolation_scope == "Zonal"
    assert [(e["event"], e["field"], e["value"]) for e in logs] == [
        ("arm.unknown_enum_value", "isolationScope", "Zonal")
    ]


async def test_explicit_nulls_read_as_absent(arm: ArmClient, replay: ReplayServer) -> None:
    reply = {"name": "uami", "location": "westeurope", "tags": None, "properties": None}
    replay.replies[:] = [Canned(200, reply)]
    identity = await arm.get_identity(ADDRESS)
    assert identity is not None
    assert (dict(identity.tags), identity.client_id) == ({}, "")


async def test_a_listed_identity_without_a_name_is_named_by_its_id(
    arm: ArmClient, replay: ReplayServer
) -> None:
    identities = "/subscriptions/sub/resourcegroups/rg-ppmi/providers/Microsoft.ManagedIdentity"
    item = {"id": f"{identities}/userAssignedIdentities/x1"}
    replay.replies[:] = [Canned(200, {"value": [item]})]
    listed = await arm.list_identities("sub", "rg-ppmi")
    assert [identity.address for identity in listed] == [IdentityAddress("sub", "rg-ppmi", "x1")]


async def test_a_principal_type_ppmi_does_not_know_is_kept_and_logged(
    arm: ArmClient, replay: ReplayServer
) -> None:
    reply = {
        "name": "a1",
        "properties": {"principalType": "Device", "principalId": "P", "roleDefinitionId": "/r/R"},
    }
    replay.replies[:] = [Canned(200, reply)]
    with capture_logs() as logs:
        assignment = await arm.get_role_assignment("/subscriptions/sub", "a1")
    assert assignment is not None
    assert (assignment.principal_type, assignment.principal_id, assignment.role_definition_id) == (
        "Device",
        "p",
        "r",
    )
    assert [e["value"] for e in logs if e["event"] == "arm.unknown_enum_value"] == ["Device"]


async def test_a_refused_read_names_the_action_the_scope_and_the_role_that_would_allow_it(
    arm: ArmClient, replay: ReplayServer
) -> None:
    scope = "/subscriptions/sub"
    message = (
        "The client 'c' with object id 'o' does not have authorization to perform action "
        f"'Microsoft.Authorization/roleAssignments/read' over scope '{scope}/providers/Microsoft.Authorization/"
        "roleAssignments' or the scope is invalid. If access was recently granted, please refresh your credentials."
    )
    replay.replies[:] = [Canned(403, {"error": {"code": "AuthorizationFailed", "message": message}})]
    with pytest.raises(MissingRight) as raised:
        await arm.list_role_assignments_for_principal(scope, "p")
    assert raised.value.action == "Microsoft.Authorization/roleAssignments/read"
    assert raised.value.scope == f"{scope}/providers/Microsoft.Authorization/roleAssignments"
    assert "give its identity Reader at that scope" in str(raised.value)
    assert (raised.value.status, raised.value.code) == (403, "AuthorizationFailed")
