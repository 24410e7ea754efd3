"""Probes with Microsoft's own ARM clients, unchanged: the sandbox refuses what Azure refuses.

Each probe names the documented behaviour it checks; docs/sandbox.md lists the sources.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.rest import HttpRequest
from azure.identity import ManagedIdentityCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity, IdentityUpdate

from sandbox.server import Sandbox

GROUP = "rg-ppmi-identities"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _options(sandbox: Sandbox) -> dict[str, Any]:
    return {"base_url": sandbox.url, "connection_verify": str(sandbox.ca_path)}


@pytest.fixture
def credential(sandbox: Sandbox) -> Iterator[ManagedIdentityCredential]:
    with ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]) as managed:
        yield managed


@pytest.fixture
def msi(sandbox: Sandbox, credential: ManagedIdentityCredential) -> Iterator[ManagedServiceIdentityClient]:
    # Closed after each test: a client left open keeps its connection after the sandbox stops.
    with ManagedServiceIdentityClient(
        credential, sandbox.env["PPMI_SUBSCRIPTION_ID"], **_options(sandbox)
    ) as client:
        yield client


@pytest.fixture
def authorization(
    sandbox: Sandbox, credential: ManagedIdentityCredential
) -> Iterator[AuthorizationManagementClient]:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    with AuthorizationManagementClient(credential, subscription, **_options(sandbox)) as client:
        yield client


def _scope(sandbox: Sandbox, group: str = "rg-kv") -> str:
    return f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/{group}"


def _grant(
    sandbox: Sandbox, principal: str, role: str = KEY_VAULT_SECRETS_USER, principal_type: str | None = None
) -> RoleAssignmentCreateParameters:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    role_id = f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/{role}"
    grant = RoleAssignmentCreateParameters(role_definition_id=role_id, principal_id=principal)
    # The SDK sends the spec's default, "User", unless told otherwise; None leaves the type out.
    grant.principal_type = principal_type  # type: ignore[assignment]
    return grant


def _new_principal(msi: ManagedServiceIdentityClient) -> str:
    """A freshly created identity's principal ID."""
    identity = msi.user_assigned_identities.create_or_update(GROUP, "uami", Identity(location="westeurope"))
    return str(identity.principal_id)


def _code(raised: pytest.ExceptionInfo[HttpResponseError]) -> tuple[int | None, str | None]:
    error = raised.value.error
    return raised.value.status_code, error.code if error is not None else None


def test_a_put_into_a_resource_group_nobody_created_gets_resource_group_not_found(
    msi: ManagedServiceIdentityClient,
) -> None:
    """ARM: 404 ResourceGroupNotFound (MicrosoftDocs/azure-docs#21346)."""
    with pytest.raises(ResourceNotFoundError) as raised:
        msi.user_assigned_identities.create_or_update(
            "rg-nobody-made", "uami", Identity(location="westeurope")
        )
    assert _code(raised) == (404, "ResourceGroupNotFound")
    assert raised.value.message.endswith("Resource group 'rg-nobody-made' could not be found.")


def test_a_role_assignment_for_a_role_that_does_not_exist_is_refused(
    msi: ManagedServiceIdentityClient, authorization: AuthorizationManagementClient, sandbox: Sandbox
) -> None:
    """RoleDefinitionDoesNotExist: "The specified role definition with ID '…' does not exist." """
    missing_role = str(uuid.uuid4())
    wanted = _grant(sandbox, _new_principal(msi), missing_role, "ServicePrincipal")
    with pytest.raises(HttpResponseError) as raised:
        authorization.role_assignments.create(_scope(sandbox), str(uuid.uuid4()), wanted)
    assert _code(raised) == (400, "RoleDefinitionDoesNotExist")
    assert f"The specified role definition with ID '{missing_role}' does not exist." in raised.value.message


def test_principal_type_service_principal_avoids_principal_not_found_right_after_creation(
    msi: ManagedServiceIdentityClient, authorization: AuthorizationManagementClient, sandbox: Sandbox
) -> None:
    """ "Troubleshoot Azure RBAC": set principalType when assigning a role to a new principal."""
    sandbox.configure(principal_propagation_seconds=60.0)
    principal = _new_principal(msi)
    with pytest.raises(HttpResponseError) as raised:
        authorization.role_assignments.create(_scope(sandbox), str(uuid.uuid4()), _grant(sandbox, principal))
    created = authorization.role_assignments.create(
        _scope(sandbox), str(uuid.uuid4()), _grant(sandbox, principal, principal_type="ServicePrincipal")
    )
    assert _code(raised) == (400, "PrincipalNotFound")
    assert created.principal_type == "ServicePrincipal"


def test_deleting_a_role_assignment_returns_what_was_deleted_then_nothing(
    msi: ManagedServiceIdentityClient, authorization: AuthorizationManagementClient, sandbox: Sandbox
) -> None:
    """RoleAssignments_Delete.json: 200 with the deleted assignment, then 204."""
    principal = _new_principal(msi)
    name = str(uuid.uuid4())
    authorization.role_assignments.create(
        _scope(sandbox), name, _grant(sandbox, principal, principal_type="ServicePrincipal")
    )
    deleted = authorization.role_assignments.delete(_scope(sandbox), name)
    again = authorization.role_assignments.delete(_scope(sandbox), name)
    assert deleted is not None
    assert deleted.principal_id == principal
    assert again is None


def test_an_older_published_api_version_works_and_an_unregistered_one_does_not(
    sandbox: Sandbox, credential: ManagedIdentityCredential
) -> None:
    """Specs exist for 2018-11-30 identities; an unknown version answers NoRegisteredProviderFound."""
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    with ManagedServiceIdentityClient(
        credential, subscription, api_version="2018-11-30", **_options(sandbox)
    ) as older:
        created = older.user_assigned_identities.create_or_update(
            GROUP, "uami", Identity(location="westeurope")
        )
        identity = (
            f"/subscriptions/{subscription}/resourceGroups/{GROUP}/providers/Microsoft.ManagedIdentity/"
        )
        unknown = HttpRequest(
            "GET", f"{sandbox.url}{identity}userAssignedIdentities/uami?api-version=2019-01-01"
        )
        response = older._client.send_request(
            unknown
        )  # the SDK refuses versions it does not know: ARM is asked
    assert created.client_id
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "NoRegisteredProviderFound"


def test_a_fic_on_an_identity_in_an_unsupported_region_gets_405(msi: ManagedServiceIdentityClient) -> None:
    """Entra's FIC considerations: Malaysia South and New Zealand North, 405 "…not enabled"."""
    msi.user_assigned_identities.create_or_update(GROUP, "uami-nz", Identity(location="newzealandnorth"))
    credential = FederatedIdentityCredential(
        issuer="https://login.microsoftonline.com/t/v2.0",
        subject="/eid1/x",
        audiences=["api://AzureADTokenExchange"],
    )
    with pytest.raises(HttpResponseError) as raised:
        msi.federated_identity_credentials.create_or_update(GROUP, "uami-nz", "signer", credential)
    assert raised.value.status_code == 405
    assert "Support for federated identity credentials not enabled." in raised.value.message


def test_update_changes_the_tags_and_keeps_the_isolation_scope(msi: ManagedServiceIdentityClient) -> None:
    """IdentityUpdate.json: PATCH changes what it names; the identity's other settings stay."""
    msi.user_assigned_identities.create_or_update(
        GROUP, "uami", Identity(location="westeurope", tags={"a": "1"}, isolation_scope="Regional")
    )
    updated = msi.user_assigned_identities.update(GROUP, "uami", IdentityUpdate(tags={"b": "2"}))
    assert (updated.tags, updated.isolation_scope) == ({"b": "2"}, "Regional")


def test_with_the_deployments_rights_enforced_a_role_outside_the_delegation_is_refused(
    msi: ManagedServiceIdentityClient, authorization: AuthorizationManagementClient, sandbox: Sandbox
) -> None:
    """infra/main.bicep's ABAC condition; 403 AuthorizationFailed as "Troubleshoot Azure RBAC" quotes it."""
    principal = _new_principal(msi)
    sandbox.configure(
        arm_access={
            "enforced": True,
            "identity_resource_groups": [GROUP],
            "granted_role_definition_ids": [KEY_VAULT_SECRETS_USER],
            "grant_scopes": [_scope(sandbox)],
        }
    )
    allowed = authorization.role_assignments.create(
        _scope(sandbox), str(uuid.uuid4()), _grant(sandbox, principal, principal_type="ServicePrincipal")
    )
    with pytest.raises(HttpResponseError) as other_role:
        authorization.role_assignments.create(
            _scope(sandbox), str(uuid.uuid4()), _grant(sandbox, principal, READER, "ServicePrincipal")
        )
    with pytest.raises(HttpResponseError) as as_a_user:
        authorization.role_assignments.create(
            _scope(sandbox), str(uuid.uuid4()), _grant(sandbox, principal, principal_type="User")
        )
    with pytest.raises(HttpResponseError) as other_group:
        msi.user_assigned_identities.create_or_update("rg-ppmi", "uami", Identity(location="westeurope"))
    assert allowed.principal_id == principal
    assert _code(other_role) == _code(as_a_user) == _code(other_group) == (403, "AuthorizationFailed")
    assert "does not have authorization or an ABAC condition not fulfilled" in other_role.value.message
