"""A connector event gives the app registration one FIC and the redirect URI, and takes back only those."""

from __future__ import annotations

from sandbox.control import ApplicationInfo
from sandbox.server import Sandbox
from shared.engine import Runtime, process
from tests.connectors.conftest import REDIRECT, application_state, connector_event, connector_subject
from tests.engine.conftest import succeed, writes


async def test_a_connector_gets_one_fic_equal_to_the_event_and_its_redirect_uri(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    incoming = connector_event(sandbox, connector_app, environment.id, "shared_contoso-5fweather")

    report = await succeed(connector_runtime, incoming)

    app = application_state(sandbox, connector_app)
    (fic,) = app["federatedIdentityCredentials"]
    assert (fic["issuer"], fic["subject"]) == (incoming.data.issuer, incoming.data.subject)  # type: ignore[attr-defined]
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
    assert app["redirectUris"] == [REDIRECT]
    assert [step.outcome for step in report.steps] == ["created", "created"]
