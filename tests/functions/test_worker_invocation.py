"""Every function invoked through the worker library with what the host sends it, and what it produced."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import MessageSnapshot
from shared.events import Event, new_event, parse_event, parse_result
from shared.messaging import processing
from shared.messaging.envelope import (
    EVENTS_QUEUE,
    KEPT_CLASS,
    KEPT_QUEUE,
    RESULTS_QUEUE,
    SOURCE_QUEUE,
    WORK_QUEUE,
)
from shared.messaging.hosting import process_host
from shared.messaging.publishing import publish
from tests.functions import host_protocol as protos
from tests.functions.host_shapes import http_request, service_bus_message, timer_tick
from tests.functions.python_worker import IndexedApp, index_app, invoke
from tests.messaging.conftest import Platform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def worker_app(platform: Platform) -> AsyncIterator[IndexedApp]:
    """The app as the worker indexed it; the app's process-wide host is closed afterwards."""
    yield await index_app(ROOT)
    await process_host.close()


def registration(platform: Platform, reply_session: str) -> Event:
    environment = platform.sandbox.control.create_environment(display_name="Worker")
    package_id = platform.sandbox.control.register_plugin_package(environment.id, platform.certificate)
    return new_event(
        "ppmi.pluginpackage.registered",
        {
            "environmentId": environment.id,
            "pluginPackageId": package_id,
            "certificate": {"der": base64.b64encode(platform.certificate).decode()},
        },
        source="/tests",
        reply_session=reply_session,
    )


async def published(platform: Platform, client: ServiceBusClient, event: Event) -> MessageSnapshot:
    """The event as it waits on ppmi-events."""
    await publish(client, [event])
    (message,) = [m for m in platform.broker.queue(EVENTS_QUEUE).messages() if m.message_id == event.id]
    return message


async def deliver(
    app: IndexedApp, name: str, message: MessageSnapshot, **kwargs: object
) -> protos.InvocationResponse:
    """Invoke a Service Bus triggered function with one message, as its trigger delivers it."""
    data, metadata = service_bus_message(message)
    return await invoke(app, name, {"message": data}, metadata, **kwargs)  # type: ignore[arg-type]


async def routed(
    platform: Platform, client: ServiceBusClient, app: IndexedApp, event: Event
) -> MessageSnapshot:
    await deliver(app, "route_event", await published(platform, client, event))
    (work,) = [m for m in platform.broker.queue(WORK_QUEUE).messages() if m.message_id == event.id]
    return work


async def test_route_event_forwards_the_delivered_event_to_its_identitys_session(
    platform: Platform, servicebus: ServiceBusClient, worker_app: IndexedApp
) -> None:
    event = registration(platform, "pipeline-1")

    work = await routed(platform, servicebus, worker_app, event)

    assert work.session_id
    assert work.body == event.to_json()
    assert work.reply_to_session_id == "pipeline-1"


async def test_route_event_keeps_an_unreadable_message_and_answers_rejected(
    platform: Platform, servicebus: ServiceBusClient, worker_app: IndexedApp
) -> None:
    event = registration(platform, "pipeline-2")
    message = await published(platform, servicebus, event)
    broken = MessageSnapshot(**{**vars(message), "body": b'{"specversion": "1.0", "id": "bad-1"}'})

    await deliver(worker_app, "route_event", broken)

    (kept,) = platform.broker.queue(KEPT_QUEUE).messages()
    assert (kept.application_properties[KEPT_CLASS], kept.application_properties[SOURCE_QUEUE]) == (
        "rejected",
        EVENTS_QUEUE,
    )
    (answer,) = platform.broker.queue(RESULTS_QUEUE).messages()
    assert (answer.session_id, parse_result(answer.body).data.outcome) == ("pipeline-2", "rejected")
    assert [m.message_id for m in platform.broker.queue(WORK_QUEUE).messages()] == []


async def test_provision_converges_a_session_message_and_answers_on_the_reply_session(
    platform: Platform, servicebus: ServiceBusClient, worker_app: IndexedApp
) -> None:
    event = registration(platform, "pipeline-3")
    work = await routed(platform, servicebus, worker_app, event)

    response = await deliver(worker_app, "provision", work)

    assert response.return_value is None
    (answer,) = platform.broker.queue(RESULTS_QUEUE).messages()
    assert (answer.session_id, answer.correlation_id) == ("pipeline-3", event.id)
    assert parse_result(answer.body).data.outcome == "succeeded"
    environment_id = event.data.environment_id
    (row,) = platform.sandbox.control.rows(environment_id, "managedidentities")
    (package,) = platform.sandbox.control.rows(environment_id, "pluginpackages")
    assert package["_managedidentityid_value"] == row["managedidentityid"]


async def test_a_provision_call_that_raises_fails_so_the_host_abandons_that_message_alone(
    platform: Platform, servicebus: ServiceBusClient, worker_app: IndexedApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = registration(platform, "pipeline-4")
    work = await routed(platform, servicebus, worker_app, event)

    async def broken(*_: object) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(processing, "provision", broken)
    response = await deliver(worker_app, "provision", work, may_fail=True)

    assert response.result.status == protos.StatusResult.Failure
    assert response.result.exception.message == "RuntimeError: handler bug"
    assert platform.broker.queue(RESULTS_QUEUE).messages() == []  # nothing answered: it comes back


async def test_each_timer_tick_publishes_its_events(platform: Platform, worker_app: IndexedApp) -> None:
    created = {platform.sandbox.control.create_environment(display_name=n).id for n in ("One", "Two")}

    await invoke(worker_app, "discovery", {"timer": timer_tick()})
    await invoke(worker_app, "reconcile", {"timer": timer_tick(past_due=True)})

    events = [parse_event(m.body) for m in platform.broker.queue(EVENTS_QUEUE).messages()]
    by_type = {
        kind: {e.data.environment_id for e in events if e.type == kind} for kind in {e.type for e in events}
    }
    assert by_type["ppmi.environment.created"] >= created
    assert by_type["ppmi.environment.reconcile"] >= created


async def test_the_intake_answers_202_for_a_valid_event_and_400_for_an_invalid_one(
    platform: Platform, worker_app: IndexedApp
) -> None:
    event = registration(platform, "pipeline-5")
    url = "https://func-ppmi.azurewebsites.net/api/events"
    headers = {"content-type": "application/cloudevents+json"}

    accepted = await invoke(
        worker_app, "intake", {"req": http_request("POST", url, event.to_json(), headers)}
    )
    refused = await invoke(worker_app, "intake", {"req": http_request("POST", url, b"{}", headers)})

    assert accepted.return_value.http.status_code == "202"
    assert refused.return_value.http.status_code == "400"
    assert json.loads(refused.return_value.http.body.bytes)["error"]
    (queued,) = platform.broker.queue(EVENTS_QUEUE).messages()
    assert queued.message_id == event.id
