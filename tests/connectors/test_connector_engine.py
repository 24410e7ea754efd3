"""A connector event gives the app registration one FIC and the redirect URI, and takes back only those."""

from __future__ import annotations

import pytest

from sandbox.control import ApplicationInfo
from sandbox.server import Sandbox
from shared.engine import Runtime, process
from shared.events import ConnectorData, EventValidationError
from tests.connectors.conftest import (
    REDIRECT,
    add_hand_made_fics,
    application_state,
    connector_event,
    connector_subject,
)
from tests.engine.conftest import succeed, writes

GRAPH = "https://graph.microsoft.com"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


async def test_a_connector_gets_one_fic_equal_to_the_event_and_its_redirect_uri(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    incoming = connector_event(sandbox, connector_app, environment.id, "shared_contoso-5fweather")
    assert isinstance(incoming.data, ConnectorData)

    report = await succeed(connector_runtime, incoming)

    app = application_state(sandbox, connector_app)
    (fic,) = app["federatedIdentityCredentials"]
    assert (fic["issuer"], fic["subject"]) == (incoming.data.issuer, incoming.data.subject)
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
    assert fic["name"].startswith("ppmi-connector-")
    assert app["redirectUris"] == [REDIRECT]
    assert [(step.step, step.outcome) for step in report.steps] == [
        ("federated-credential", "created"),
        ("redirect-uri", "created"),
    ]


async def test_the_same_event_again_writes_nothing(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    incoming = connector_event(sandbox, connector_app, environment.id, "shared_contoso-5fweather")
    await succeed(connector_runtime, incoming)
    before = len(sandbox.requests)

    again = await succeed(connector_runtime, incoming)

    assert writes(sandbox, before) == []
    assert [step.outcome for step in again.steps] == ["unchanged"]


async def test_the_21st_fic_on_the_app_is_refused_with_the_count_before_any_write(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    await add_hand_made_fics(sandbox, connector_app, 18)
    for connector in ("shared_c1", "shared_c2"):
        await succeed(connector_runtime, connector_event(sandbox, connector_app, environment, connector))
    before = len(sandbox.requests)

    report = await process(
        connector_event(sandbox, connector_app, environment, "shared_c3"), connector_runtime
    )

    assert report.outcome == "failed"
    assert "holds 20 of the 20 FICs" in (report.reason or "")
    assert writes(sandbox, before) == []
    assert len(application_state(sandbox, connector_app)["federatedIdentityCredentials"]) == 20


async def test_deletion_removes_only_the_fic_and_redirect_uri_ppmi_added(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    hand_made = "https://global.consent.azure-apim.net/redirect/added-by-hand"
    await set_redirect_uris(sandbox, connector_app, [hand_made])
    await add_hand_made_fics(sandbox, connector_app, 1)
    await succeed(connector_runtime, connector_event(sandbox, connector_app, environment, "shared_weather"))

    report = await succeed(
        connector_runtime,
        connector_event(sandbox, connector_app, environment, "shared_weather", kind="deleted"),
    )

    app = application_state(sandbox, connector_app)
    assert [fic["name"] for fic in app["federatedIdentityCredentials"]] == ["github-deploy-0"]
    assert app["redirectUris"] == [hand_made]
    assert [(step.step, step.outcome) for step in report.steps] == [
        ("redirect-uri", "removed"),
        ("federated-credential", "removed"),
    ]


async def test_a_redirect_uri_that_was_there_before_stays_when_the_connector_goes(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    await set_redirect_uris(sandbox, connector_app, [REDIRECT])
    await succeed(connector_runtime, connector_event(sandbox, connector_app, environment, "shared_weather"))
    await succeed(
        connector_runtime,
        connector_event(sandbox, connector_app, environment, "shared_weather", kind="deleted"),
    )

    app = application_state(sandbox, connector_app)
    assert app["federatedIdentityCredentials"] == []
    assert app["redirectUris"] == [REDIRECT]


async def test_a_redirect_uri_two_connectors_share_stays_until_the_last_one_goes(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    first, second = (sandbox.control.create_environment(display_name=n).id for n in ("Dev", "Test"))
    for environment in (first, second):
        await succeed(
            connector_runtime, connector_event(sandbox, connector_app, environment, "shared_weather")
        )

    await succeed(
        connector_runtime, connector_event(sandbox, connector_app, first, "shared_weather", kind="deleted")
    )
    assert application_state(sandbox, connector_app)["redirectUris"] == [REDIRECT]
    await succeed(
        connector_runtime, connector_event(sandbox, connector_app, second, "shared_weather", kind="deleted")
    )
    assert application_state(sandbox, connector_app)["redirectUris"] == []


async def test_a_new_redirect_url_replaces_the_one_ppmi_added(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    moved = "https://global.consent.azure-apim.net/redirect/cr7f1-5fcontoso-20weather-v2"
    await succeed(connector_runtime, connector_event(sandbox, connector_app, environment, "shared_weather"))

    await succeed(
        connector_runtime,
        connector_event(sandbox, connector_app, environment, "shared_weather", redirectUrl=moved),
    )

    assert application_state(sandbox, connector_app)["redirectUris"] == [moved]


async def test_a_fic_with_ppmis_name_but_not_its_note_is_left_alone(
    sandbox: Sandbox, connector_runtime: Runtime, connector_app: ApplicationInfo
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales").id
    incoming = connector_event(sandbox, connector_app, environment, "shared_weather")
    await succeed(connector_runtime, incoming)
    (fic,) = application_state(sandbox, connector_app)["federatedIdentityCredentials"]
    await patch_fic_description(sandbox, connector_app, fic["name"], "owned by the integration team")

    deleted = await succeed(
        connector_runtime,
        connector_event(sandbox, connector_app, environment, "shared_weather", kind="deleted"),
    )
    again = await process(incoming, connector_runtime)

    assert [step.outcome for step in deleted.steps] == ["skipped"]
    assert len(application_state(sandbox, connector_app)["federatedIdentityCredentials"]) == 1
    assert again.outcome == "failed"
    assert "ppmi did not write" in (again.reason or "")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"subject": "FOREIGN"}, "data.subject", f"belongs to tenant {OTHER_TENANT}"),
        ({"subject": "WILDCARD"}, "data.subject", "wildcard"),
        ({"subject": "GOVERNMENT"}, "data.subject", "must start with /eid1/c/pub/t/"),
        (
            {"issuer": f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"},
            "data.issuer",
            "another tenant",
        ),
        (
            {"issuer": "https://sts.windows.net/TENANT/"},
            "data.issuer",
            "must be https://login.microsoftonline.com",
        ),
        (
            {"redirectUrl": "https://evil.example/redirect/x"},
            "data.redirectUrl",
            "not one of connectors.redirectHosts",
        ),
        (
            {"applicationId": OTHER_TENANT},
            "data.applicationId",
            "not one the policy lets custom connectors use",
        ),
    ],
)
async def test_hostile_connector_events_are_rejected_before_any_call(  # noqa: PLR0917 - fixtures, cases
    sandbox: Sandbox,
    connector_runtime: Runtime,
    connector_app: ApplicationInfo,
    overrides: dict[str, str],
    field: str,
    words: str,
) -> None:
    tenant = sandbox.env["PPMI_TENANT_ID"]
    environment = sandbox.control.create_environment(display_name="Sales").id
    named = {
        "FOREIGN": connector_subject(OTHER_TENANT, "shared_weather"),
        "WILDCARD": connector_subject(tenant, "shared_*"),
        "GOVERNMENT": connector_subject(tenant, "shared_weather", cloud_code="usg"),
    }
    values = {key: named.get(value, value.replace("TENANT", tenant)) for key, value in overrides.items()}
    incoming = connector_event(sandbox, connector_app, environment, "shared_weather", **values)
    before = len(sandbox.requests)

    report = await process(incoming, connector_runtime)

    assert report.outcome == "rejected"
    assert words in (report.reason or ""), report.reason
    assert [r for r in sandbox.requests[before:] if r.service == "graph"] == []
    assert field.startswith("data.")


async def set_redirect_uris(sandbox: Sandbox, application: ApplicationInfo, uris: list[str]) -> None:
    async with sandbox.async_client(GRAPH, base_url=GRAPH) as graph:
        reply = await graph.patch(
            f"/v1.0/applications/{application.object_id}", json={"web": {"redirectUris": uris}}
        )
        reply.raise_for_status()


async def patch_fic_description(sandbox: Sandbox, application: ApplicationInfo, name: str, text: str) -> None:
    async with sandbox.async_client(GRAPH, base_url=GRAPH) as graph:
        reply = await graph.patch(
            f"/v1.0/applications/{application.object_id}/federatedIdentityCredentials(name='{name}')",
            json={"description": text},
        )
        reply.raise_for_status()


def test_a_subject_over_entras_600_characters_is_refused_when_the_event_is_read(
    sandbox: Sandbox, connector_app: ApplicationInfo
) -> None:
    with pytest.raises(EventValidationError) as refused:
        connector_event(
            sandbox, connector_app, ENVIRONMENT, "shared_weather", subject="/eid1/c/pub/" + "a" * 600
        )

    assert refused.value.field == "data.subject"
    assert "600" in refused.value.reason
