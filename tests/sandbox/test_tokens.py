"""The managed-identity token endpoint and bearer verification by every stand-in."""

from __future__ import annotations

import httpx
import pytest
from azure.identity import ManagedIdentityCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential

from sandbox.server import Sandbox
from tests.sandbox.conftest import ARM, MSI_VERSION

GRAPH = "https://graph.microsoft.com"


def token_request(sandbox: Sandbox, headers: dict[str, str], **params: str) -> httpx.Response:
    query = {"api-version": "2019-08-01", "resource": ARM, **params}
    return httpx.get(sandbox.env["IDENTITY_ENDPOINT"], params=query, headers=headers)


def test_managed_identity_credential_gets_a_token_through_identity_endpoint(sandbox: Sandbox) -> None:
    credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    token = credential.get_token(f"{ARM}/.default")
    with sandbox.client(base_url=ARM, headers={"Authorization": f"Bearer {token.token}"}) as client:
        url = f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi/providers/"
        response = client.get(url + "Microsoft.ManagedIdentity/userAssignedIdentities", params=MSI_VERSION)
    assert response.status_code == 200
    assert sandbox.requests[-1].caller == sandbox.env["AZURE_CLIENT_ID"]


def test_token_reply_has_expires_on_as_epoch_seconds_string(sandbox: Sandbox) -> None:
    reply = token_request(sandbox, {"X-IDENTITY-HEADER": sandbox.env["IDENTITY_HEADER"]}).json()
    assert isinstance(reply["expires_on"], str)
    assert reply["expires_on"].isdigit()
    assert (reply["resource"], reply["token_type"]) == (ARM, "Bearer")


def test_wrong_identity_header_gets_401(sandbox: Sandbox) -> None:
    assert token_request(sandbox, {"X-IDENTITY-HEADER": "not-it"}).status_code == 401


def test_missing_identity_header_gets_400(sandbox: Sandbox) -> None:
    assert token_request(sandbox, {}).status_code == 400


def test_unknown_client_id_cannot_get_a_token(sandbox: Sandbox) -> None:
    headers = {"X-IDENTITY-HEADER": sandbox.env["IDENTITY_HEADER"]}
    response = token_request(sandbox, headers, client_id="00000000-0000-0000-0000-000000000001")
    assert response.status_code == 400
    assert "Managed Identity" in response.json()["message"]


def test_arm_refuses_a_request_without_a_bearer_token(sandbox: Sandbox) -> None:
    with sandbox.client(base_url=ARM) as client:
        response = client.get(
            "/subscriptions/x/resourceGroups/rg-ppmi/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            params=MSI_VERSION,
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert response.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")


def test_arm_refuses_a_token_for_another_audience(sandbox: Sandbox) -> None:
    with sandbox.client(GRAPH, base_url=ARM) as client:
        response = client.get(
            f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            params=MSI_VERSION,
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"


def test_arm_accepts_its_audience_with_a_trailing_slash(sandbox: Sandbox) -> None:
    with sandbox.client(ARM + "/", base_url=ARM) as client:
        response = client.get(
            f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            params=MSI_VERSION,
        )
    assert response.status_code == 200


def test_an_expired_token_is_refused(sandbox: Sandbox) -> None:
    expired = sandbox.control.mint_token(ARM, lifetime_seconds=-1)
    with sandbox.client(base_url=ARM, headers={"Authorization": f"Bearer {expired}"}) as client:
        response = client.get(
            f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            params=MSI_VERSION,
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "ExpiredAuthenticationToken"


def test_a_tampered_token_is_refused(sandbox: Sandbox) -> None:
    header, payload, signature = sandbox.control.mint_token(ARM).split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    with sandbox.client(base_url=ARM, headers={"Authorization": f"Bearer {forged}"}) as client:
        response = client.get(
            f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities",
            params=MSI_VERSION,
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"


@pytest.mark.parametrize(
    ("base", "path", "audience"),
    [
        (
            GRAPH,
            "/v1.0/applications/00000000-0000-0000-0000-000000000000/federatedIdentityCredentials",
            GRAPH,
        ),
        (
            "https://api.powerplatform.com",
            "/environmentmanagement/environments?api-version=2024-10-01",
            "https://api.powerplatform.com",
        ),
        (
            "https://api.bap.microsoft.com",
            "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01",
            "https://service.powerapps.com",
        ),
    ],
)
def test_each_service_accepts_only_its_own_audience(
    sandbox: Sandbox, base: str, path: str, audience: str
) -> None:
    with sandbox.client(ARM, base_url=base) as wrong, sandbox.client(audience, base_url=base) as right:
        assert wrong.get(path).status_code == 401
        assert right.get(path).status_code != 401


def test_token_requests_are_in_the_request_log(sandbox: Sandbox) -> None:
    credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    credential.get_token(f"{ARM}/.default")
    credential.get_token(f"{ARM}/.default")
    token_requests = [r for r in sandbox.requests if r.service == "token"]
    assert [(r.status, r.caller) for r in token_requests] == [(200, sandbox.env["AZURE_CLIENT_ID"])]


async def test_async_managed_identity_credential_gets_a_token(sandbox: Sandbox) -> None:
    async with AsyncManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]) as credential:
        token = await credential.get_token(f"{GRAPH}/.default")
    assert token.expires_on > 0
    assert token.token.count(".") == 2


def test_an_identity_can_be_chosen_by_principal_id(sandbox: Sandbox) -> None:
    headers = {"X-IDENTITY-HEADER": sandbox.env["IDENTITY_HEADER"]}
    principal = sandbox.state.service_identity.principal_id
    reply = token_request(sandbox, headers, principal_id=principal).json()
    assert reply["client_id"] == sandbox.env["AZURE_CLIENT_ID"]
