"""Custom connectors and key vault access policies through the real path: publish → ppmi-events → route →
ppmi-work → engine → ppmi-results, against the sandbox, with the worker the Functions app shares."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sandbox.control import ApplicationInfo
from shared.cli import main
from shared.events import Event, ResultEvent, new_event
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, KEPT_REASON, OutgoingMessage
from shared.messaging.hosting import MessagingHost
from shared.messaging.outbox import Outbox
from shared.messaging.publishing import publish, unique_reply_session, wait_for_results
from tests.connectors.conftest import REDIRECT, add_hand_made_fics, connector_event, connector_subject
from tests.keyvault.conftest import access_policies_section, entry_of, foreign_entry, vault_entries
from tests.messaging.conftest import Platform, worker

OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


def allow_connectors(platform: Platform, application: ApplicationInfo, extra: str = "") -> None:
    """The demo policy, plus the app registration connectors may use (and `extra` sections)."""
    base = (
        platform.policy.read_text(encoding="utf-8")
        .split("connectors:")[0]
        .split("keyVaultAccessPolicies:")[0]
    )
    platform.policy.write_text(
        base
        + "connectors:\n  applications:\n"
        + f"    - applicationId: {application.app_id}\n      objectId: {application.object_id}\n"
        + extra,
        encoding="utf-8",
    )


async def results(host: MessagingHost, events: list[Event], session: str) -> dict[str, ResultEvent]:
    received = await wait_for_results(
        host.client, event_ids={e.id for e in events}, reply_session=session, within=30
    )
    return {event_id: item.result for event_id, item in received.items()}


def app_state(platform: Platform, application: ApplicationInfo) -> dict[str, Any]:
    (found,) = [
        a for a in platform.sandbox.control.dump()["applications"] if a["objectId"] == application.object_id
    ]
    return dict(found)


def graph_writes(platform: Platform, since: int) -> list[str]:
    return [
        f"{r.method} {r.path}" for r in platform.sandbox.requests[since:] if r.write and r.service == "graph"
    ]


async def test_connector_events_give_one_fic_then_nothing_then_refuse_the_21st_then_take_back_only_ppmis(
    platform: Platform,
) -> None:
    sandbox = platform.sandbox
    sandbox.configure(fic_write_hold_seconds=0.0)
    application = sandbox.control.create_application("Contoso connectors")
    allow_connectors(platform, application)
    environment = sandbox.control.create_environment(display_name="Sales").id
    await add_hand_made_fics(sandbox, application, 18)
    session = unique_reply_session()
    weather = connector_event(sandbox, application, environment, "shared_weather", reply_session=session)
    traffic = connector_event(sandbox, application, environment, "shared_traffic", reply_session=session)

    async with worker() as host:
        await publish(host.client, [weather])
        first = await results(host, [weather], session)
        before_again = len(sandbox.requests)
        again = connector_event(sandbox, application, environment, "shared_weather", reply_session=session)
        await publish(host.client, [again, traffic])
        second = await results(host, [again, traffic], session)
        writes_of_again = [
            w for w in graph_writes(platform, before_again) if "/federatedIdentityCredentials" in w
        ]
        over = connector_event(sandbox, application, environment, "shared_tides", reply_session=session)
        await publish(host.client, [over])
        refused = await results(host, [over], session)
        gone = connector_event(
            sandbox, application, environment, "shared_weather", kind="deleted", reply_session=session
        )
        await publish(host.client, [gone])
        deleted = await results(host, [gone], session)

    assert first[weather.id].data.outcome == "succeeded", first[weather.id].data.reason
    assert second[again.id].data.outcome == "succeeded"
    assert [step.outcome for step in second[again.id].data.steps] == ["unchanged"]
    assert len(writes_of_again) == 1  # the traffic connector's FIC only
    assert refused[over.id].data.outcome == "failed"
    assert "holds 20 of the 20 FICs" in (refused[over.id].data.reason or "")
    assert deleted[gone.id].data.outcome == "succeeded"
    app = app_state(platform, application)
    names = sorted(fic["name"] for fic in app["federatedIdentityCredentials"])
    assert len([name for name in names if name.startswith("github-deploy-")]) == 18
    (traffic_fic,) = [fic for fic in app["federatedIdentityCredentials"] if fic["name"].startswith("ppmi-")]
    assert traffic_fic["subject"] == traffic.data.subject  # type: ignore[attr-defined]
    assert app["redirectUris"] == [REDIRECT]  # still the traffic connector's
    kept = platform.broker.queue(KEPT_QUEUE).messages()
    assert [message.application_properties[KEPT_REASON] for message in kept] == [refused[over.id].data.reason]


async def test_hostile_connector_subjects_are_rejected_at_intake_and_kept_with_their_reason(
    platform: Platform,
) -> None:
    sandbox = platform.sandbox
    application = sandbox.control.create_application("Contoso connectors")
    allow_connectors(platform, application)
    environment = sandbox.control.create_environment(display_name="Sales").id
    tenant = sandbox.env["PPMI_TENANT_ID"]
    session = unique_reply_session()
    hostile = {
        "foreign tenant": connector_subject(OTHER_TENANT, "shared_weather"),
        "wildcard": connector_subject(tenant, "shared_*"),
        "wrong prefix": "/eid1/c/usg/" + connector_subject(tenant, "shared_weather")[len("/eid1/c/pub/") :],
        "oversize": connector_subject(tenant, "shared_weather") + "x" * 600,
    }
    bodies = {
        name: raw_connector_event(sandbox, application, environment, subject, session)
        for name, subject in hostile.items()
    }
    before = len(sandbox.requests)

    async with worker() as host:
        outbox = Outbox(host.client)
        try:
            await outbox.send(
                OutgoingMessage(
                    queue=EVENTS_QUEUE,
                    body=body,
                    message_id=str(json.loads(body)["id"]),
                    reply_to_session_id=session,
                )
                for body in bodies.values()
            )
        finally:
            await outbox.close()
        ids = {name: str(json.loads(body)["id"]) for name, body in bodies.items()}
        received = await wait_for_results(
            host.client, event_ids=set(ids.values()), reply_session=session, within=30
        )

    reasons = {name: received[event_id].result.data.reason or "" for name, event_id in ids.items()}
    assert {name: received[event_id].result.data.outcome for name, event_id in ids.items()} == dict.fromkeys(
        hostile, "rejected"
    )
    assert f"belongs to tenant {OTHER_TENANT}" in reasons["foreign tenant"]
    assert "wildcard" in reasons["wildcard"]
    assert "must start with /eid1/c/pub/" in reasons["wrong prefix"]
    assert "600" in reasons["oversize"]
    assert len(platform.broker.queue(KEPT_QUEUE).messages()) == len(hostile)
    assert [r for r in sandbox.requests[before:] if r.service == "graph"] == []
    assert app_state(platform, application)["federatedIdentityCredentials"] == []


async def test_an_access_policy_vault_gets_one_entry_updated_by_reconcile_and_removed_on_teardown(
    platform: Platform,
) -> None:
    sandbox = platform.sandbox
    tenant = sandbox.env["PPMI_TENANT_ID"]
    vault_id = sandbox.control.create_vault("kv-plugins", access_policies=[foreign_entry(tenant)])
    base = platform.policy.read_text(encoding="utf-8")
    platform.policy.write_text(base + access_policies_section((vault_id, "")), encoding="utf-8")
    environment = sandbox.control.create_environment(display_name="Sales").id
    session = unique_reply_session()
    created = new_event(
        "ppmi.environment.created", {"environmentId": environment}, source="/tests", reply_session=session
    )

    async with worker() as host:
        await publish(host.client, [created])
        assert (await results(host, [created], session))[created.id].data.outcome == "succeeded"
    (identity,) = sandbox.control.dump()["identities"]
    principal = identity["properties"]["principalId"]
    (entry,) = entry_of(sandbox, vault_id, principal)
    assert {k: v for k, v in entry["permissions"].items() if v} == {"secrets": ["get"]}

    wider = access_policies_section((vault_id, "{secrets: [get, list], certificates: [get]}"))
    platform.policy.write_text(base + wider, encoding="utf-8")
    reconcile = new_event(
        "ppmi.environment.reconcile", {"environmentId": environment}, source="/tests", reply_session=session
    )
    deleted = new_event(
        "ppmi.environment.deleted", {"environmentId": environment}, source="/tests", reply_session=session
    )
    async with worker() as host:  # a new worker reads the changed policy, as a redeployed app would
        await publish(host.client, [reconcile])
        assert (await results(host, [reconcile], session))[reconcile.id].data.outcome == "succeeded"
        (entry,) = entry_of(sandbox, vault_id, principal)
        assert {k: sorted(v) for k, v in entry["permissions"].items() if v} == {
            "secrets": ["get", "list"],
            "certificates": ["get"],
        }
        await publish(host.client, [deleted])
        assert (await results(host, [deleted], session))[deleted.id].data.outcome == "succeeded"

    assert entry_of(sandbox, vault_id, principal) == []
    assert vault_entries(sandbox, vault_id) == [foreign_entry(tenant)]


def raw_connector_event(
    sandbox: Any, application: ApplicationInfo, environment_id: str, subject: str, session: str
) -> bytes:
    """A connector event as a sender might write it, unchecked: the service is the one that checks."""
    tenant = sandbox.env["PPMI_TENANT_ID"]
    document = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/tests/hostile",
        "type": "ppmi.connector.registered",
        "replysession": session,
        "data": {
            "environmentId": environment_id,
            "connectorId": "shared_weather",
            "applicationId": application.app_id,
            "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
            "subject": subject,
        },
    }
    return json.dumps(document).encode()


def test_ppmi_publish_sends_a_connector_event_as_the_connector_shows_it(platform: Platform) -> None:
    tenant = platform.sandbox.env["PPMI_TENANT_ID"]
    subject = connector_subject(tenant, "shared_weather")
    arguments = [
        "publish",
        "ppmi.connector.registered",
        "--environment-id",
        "7efcc31a-c410-e20e-9b95-dd448cedf653",
        "--connector-id",
        "shared_weather",
        "--application-id",
        "3b676527-d646-4775-971c-3df4e00b251b",
        "--issuer",
        f"https://login.microsoftonline.com/{tenant}/v2.0",
        "--subject",
        subject,
        "--redirect-url",
        REDIRECT,
        "--id",
        "evt-connector-1",
    ]

    assert main(arguments) == 0

    (sent,) = platform.broker.queue(EVENTS_QUEUE).messages()
    data = json.loads(sent.body)["data"]
    assert (data["subject"], data["redirectUrl"], data["connectorId"]) == (
        subject,
        REDIRECT,
        "shared_weather",
    )
