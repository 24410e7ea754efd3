"""Graph's application web redirect URIs in the sandbox: read with $select, replaced by PATCH (204), and
Entra's redirect URI rules enforced (contracts/graph/entra_reply-url.restrictions.excerpt.md)."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox

GRAPH = "https://graph.microsoft.com"


def test_the_redirect_uris_are_replaced_by_a_patch_and_read_back(sandbox: Sandbox) -> None:
    application = sandbox.control.create_application("Contoso connectors")
    uris = ["https://global.consent.azure-apim.net/redirect/one", "https://contoso.example/signin"]
    with sandbox.client(GRAPH, base_url=GRAPH) as graph:
        patched = graph.patch(
            f"/v1.0/applications/{application.object_id}", json={"web": {"redirectUris": uris}}
        )
        selected = graph.get(f"/v1.0/applications/{application.object_id}", params={"$select": "id,web"})

    assert patched.status_code == 204
    assert selected.json()["web"]["redirectUris"] == uris
    assert set(selected.json()) == {"id", "web"}


@pytest.mark.parametrize(
    "uri",
    [
        "http://contoso.example/signin",
        "https://contoso.example/" + "a" * 256,
        "https://contoso.example/sign(in)",
    ],
    ids=["http", "over 256 characters", "special character"],
)
def test_a_redirect_uri_entra_refuses_is_refused_and_nothing_changes(sandbox: Sandbox, uri: str) -> None:
    application = sandbox.control.create_application("Contoso connectors")
    with sandbox.client(GRAPH, base_url=GRAPH) as graph:
        refused = graph.patch(
            f"/v1.0/applications/{application.object_id}", json={"web": {"redirectUris": [uri]}}
        )

    assert refused.status_code == 400
    (app,) = sandbox.control.dump()["applications"]
    assert app["redirectUris"] == []


def test_properties_the_sandbox_does_not_model_are_refused_rather_than_ignored(sandbox: Sandbox) -> None:
    application = sandbox.control.create_application("Contoso connectors")
    with sandbox.client(GRAPH, base_url=GRAPH) as graph:
        refused = graph.patch(
            f"/v1.0/applications/{application.object_id}", json={"signInAudience": "AzureADMyOrg"}
        )

    assert refused.status_code == 400
