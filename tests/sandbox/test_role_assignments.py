"""ARM role assignments: replication delay, duplicates under another name, listing by principal."""

from __future__ import annotations

import uuid

import httpx

from sandbox.server import Sandbox
from tests.sandbox.conftest import MSI_VERSION

ROLES_VERSION = {"api-version": "2022-04-01"}
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def new_principal(arm: httpx.Client, identities_url: str, name: str = "uami-roles") -> str:
    response = arm.put(f"{identities_url}/{name}", params=MSI_VERSION, json={"location": "westeurope"})
    principal: str = response.json()["properties"]["principalId"]
    return principal


def assign(
    arm: httpx.Client,
    sandbox: Sandbox,
    principal: str,
    name: str | None = None,
    *,
    principal_type: str | None = "ServicePrincipal",
) -> httpx.Response:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    scope = (
        f"/subscriptions/{subscription}/resourceGroups/rg-vault/providers/Microsoft.KeyVault/vaults/kv-one"
    )
    body = {
        "properties": {
            "roleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
            f"roleDefinitions/{KEY_VAULT_SECRETS_USER}",
            "principalId": principal,
            **({"principalType": principal_type} if principal_type else {}),
        }
    }
    url = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name or uuid.uuid4()}"
    return arm.put(url, params=ROLES_VERSION, json=body)


def test_role_assignment_without_principal_type_right_after_identity_creation_gets_principal_not_found(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(principal_propagation_seconds=5.0)
    response = assign(arm, sandbox, new_principal(arm, identities_url), principal_type=None)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "PrincipalNotFound"
    assert (
        "principalType property to a value, such as ServicePrincipal, User, or Group.  See "
        in (response.json()["error"]["message"])
    )


def test_principal_type_service_principal_skips_the_lookup_that_lags_replication(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    """ "Troubleshoot Azure RBAC": setting principalType avoids PrincipalNotFound for a new principal."""
    sandbox.configure(principal_propagation_seconds=5.0)
    response = assign(arm, sandbox, new_principal(arm, identities_url), principal_type="ServicePrincipal")
    assert response.status_code == 201


def test_principal_type_can_be_configured_not_to_help_as_a_public_report_says(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(principal_propagation_seconds=5.0, principal_type_skips_lookup=False)
    response = assign(arm, sandbox, new_principal(arm, identities_url), principal_type="ServicePrincipal")
    assert response.json()["error"]["code"] == "PrincipalNotFound"


def test_role_assignment_succeeds_once_the_principal_has_replicated(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(principal_propagation_seconds=60.0)
    principal = new_principal(arm, identities_url)
    first = assign(arm, sandbox, principal, principal_type=None)
    sandbox.configure(principal_propagation_seconds=0.0)  # as if a minute had passed
    second = assign(arm, sandbox, principal, principal_type=None)
    assert (first.status_code, second.status_code) == (400, 201)
    assert second.json()["properties"]["principalId"] == principal


def test_unknown_principal_is_never_found(arm: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.configure(principal_propagation_seconds=0.0)
    response = assign(arm, sandbox, str(uuid.uuid4()))
    assert response.json()["error"]["code"] == "PrincipalNotFound"


def test_same_role_for_same_principal_under_another_name_gets_role_assignment_exists(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(principal_propagation_seconds=0.0)
    principal = new_principal(arm, identities_url)
    name = str(uuid.uuid4())
    first = assign(arm, sandbox, principal, name)
    again = assign(arm, sandbox, principal, name)
    other = assign(arm, sandbox, principal)
    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 409)
    assert other.json()["error"]["code"] == "RoleAssignmentExists"


def test_role_assignments_are_listed_by_principal(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(principal_propagation_seconds=0.0)
    mine, theirs = new_principal(arm, identities_url, "uami-a"), new_principal(arm, identities_url, "uami-b")
    assign(arm, sandbox, mine)
    assign(arm, sandbox, theirs)
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    listed = arm.get(
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments",
        params={**ROLES_VERSION, "$filter": f"principalId eq '{mine}'"},
    ).json()["value"]
    assert [item["properties"]["principalId"] for item in listed] == [mine]


def test_role_assignment_delete_then_get_is_not_found(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(principal_propagation_seconds=0.0)
    created = assign(arm, sandbox, new_principal(arm, identities_url)).json()
    assert arm.delete(created["id"], params=ROLES_VERSION).status_code == 200
    assert arm.delete(created["id"], params=ROLES_VERSION).status_code == 204
    assert arm.get(created["id"], params=ROLES_VERSION).json()["error"]["code"] == "RoleAssignmentNotFound"


def test_role_assignments_accept_only_their_api_version(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    response = arm.get(
        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments",
        params={"api-version": "2024-11-30"},
    )
    assert response.json()["error"]["code"] == "NoRegisteredProviderFound"
    assert "for type 'roleAssignments'" in response.json()["error"]["message"]
