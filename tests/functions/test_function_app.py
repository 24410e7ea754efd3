"""The Functions app: binding metadata as the host reads it, and each trigger called directly."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import azure.functions as func
import pytest
from azure.functions.servicebus import ServiceBusMessage

from function_app import app
from shared.events import Event, new_event, parse_event, parse_result
from shared.messaging.envelope import (
    EVENTS_QUEUE,
    KEPT_CLASS,
    KEPT_QUEUE,
    KEPT_REASON,
    RESULTS_QUEUE,
    SOURCE_QUEUE,
    WORK_QUEUE,
)
from shared.messaging.hosting import process_host
from tests.messaging.conftest import Platform

# `get_functions()` indexes the app, as the host does once at start-up; a second call refuses the names.
FUNCTIONS: dict[str, Any] = {str(f.get_function_name()): f for f in app.get_functions()}


def functions() -> dict[str, Any]:
    return FUNCTIONS


def bindings(name: str) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(functions()[name].get_function_json())
    return list(document["bindings"])


def trigger(name: str) -> Any:
    return functions()[name].get_user_function()


def delivered(event_body: bytes, message_id: str, **fields: Any) -> ServiceBusMessage:
    return ServiceBusMessage(
        body=event_body,
        message_id=message_id,
        delivery_count=1,
        application_properties=fields.pop("application_properties", {}),
        user_properties={},
        **fields,
    )


@pytest.fixture
async def app_host(platform: Platform) -> AsyncIterator[Platform]:
    """The app's process-wide host, closed after the test."""
    yield platform
    await process_host.close()


def test_the_app_registers_one_function_per_handler() -> None:
    assert set(functions()) == {"route_event", "provision", "discovery", "reconcile", "intake"}


def test_queue_triggers_bind_the_documented_queues_through_the_identity_connection() -> None:
    (route,) = bindings("route_event")
    (work,) = bindings("provision")

    assert (route["type"], route["queueName"], route["connection"]) == (
        "serviceBusTrigger",
        EVENTS_QUEUE,
        "ServiceBusConnection",
    )
    assert (work["type"], work["queueName"], work["connection"]) == (
        "serviceBusTrigger",
        WORK_QUEUE,
        "ServiceBusConnection",
    )
    assert work["isSessionsEnabled"] is True
    assert not route.get("isSessionsEnabled")


def test_timers_run_every_five_minutes_and_hourly_by_default() -> None:
    (discovery,) = bindings("discovery")
    (reconcile,) = bindings("reconcile")

    assert (discovery["type"], discovery["schedule"]) == ("timerTrigger", "0 */5 * * * *")
    assert (reconcile["type"], reconcile["schedule"]) == ("timerTrigger", "0 0 * * * *")


def test_the_http_intake_needs_a_function_key() -> None:
    http_trigger = bindings("intake")[0]

    assert (http_trigger["type"], http_trigger["authLevel"], http_trigger["methods"]) == (
        "httpTrigger",
        "FUNCTION",
        ["POST"],
    )


def package_event(platform: Platform, reply_session: str) -> Event:
    environment = platform.sandbox.control.create_environment(display_name="Functions")
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


async def test_route_event_forwards_a_valid_event_to_its_identity_session(app_host: Platform) -> None:
    event = package_event(app_host, "pipeline-1")

    await trigger("route_event")(delivered(event.to_json(), event.id))

    (forwarded,) = app_host.broker.queue(WORK_QUEUE).messages()
    assert forwarded.session_id
    assert forwarded.message_id == event.id
    assert forwarded.body == event.to_json()


async def test_route_event_keeps_an_invalid_event_and_answers_rejected(app_host: Platform) -> None:
    body = json.dumps({"specversion": "1.0", "id": "bad-1", "type": "ppmi.unknown", "replysession": "p-2"})

    await trigger("route_event")(delivered(body.encode(), "bad-1"))

    (kept,) = app_host.broker.queue(KEPT_QUEUE).messages()
    assert kept.application_properties[KEPT_CLASS] == "rejected"
    assert kept.application_properties[SOURCE_QUEUE] == EVENTS_QUEUE
    assert "type" in str(kept.application_properties[KEPT_REASON])
    (answer,) = app_host.broker.queue(RESULTS_QUEUE).messages()
    assert (answer.session_id, answer.correlation_id) == ("p-2", "bad-1")
    assert app_host.broker.queue(WORK_QUEUE).messages() == []


async def test_provision_converges_the_event_and_answers_on_the_reply_session(app_host: Platform) -> None:
    event = package_event(app_host, "pipeline-3")
    await trigger("route_event")(delivered(event.to_json(), event.id))
    (work,) = app_host.broker.queue(WORK_QUEUE).messages()

    await trigger("provision")(
        [
            delivered(
                work.body,
                str(work.message_id),
                session_id=work.session_id,
                application_properties=dict(work.application_properties),
            )
        ]
    )

    (answer,) = app_host.broker.queue(RESULTS_QUEUE).messages()
    assert answer.session_id == "pipeline-3"
    assert answer.correlation_id == event.id
    assert parse_result(answer.body).data.outcome == "succeeded"


async def test_the_intake_queues_a_valid_event_and_refuses_an_invalid_one(app_host: Platform) -> None:
    event = package_event(app_host, "pipeline-4")

    accepted = await trigger("intake")(
        func.HttpRequest("POST", "/api/events", body=event.to_json(), headers={})
    )
    refused = await trigger("intake")(func.HttpRequest("POST", "/api/events", body=b"{}", headers={}))

    assert accepted.status_code == 202
    assert refused.status_code == 400
    assert json.loads(refused.get_body())["error"]
    (queued,) = app_host.broker.queue(EVENTS_QUEUE).messages()
    assert queued.message_id == event.id


async def test_discovery_announces_new_environments_once_however_often_it_runs(app_host: Platform) -> None:
    created = {app_host.sandbox.control.create_environment(display_name=name).id for name in ("One", "Two")}

    await trigger("discovery")(None)
    await trigger("discovery")(None)

    queued = app_host.broker.queue(EVENTS_QUEUE).messages()
    events = [parse_event(message.body) for message in queued]
    assert {e.type for e in events} == {"ppmi.environment.created"}
    announced = [e.data.environment_id for e in events]
    assert set(announced) >= created
    assert len(announced) == len(set(announced))


async def test_reconcile_asks_for_every_environment_in_scope(app_host: Platform) -> None:
    created = {
        app_host.sandbox.control.create_environment(display_name=name).id for name in ("Three", "Four")
    }

    await trigger("reconcile")(None)

    events = [parse_event(message.body) for message in app_host.broker.queue(EVENTS_QUEUE).messages()]
    assert {e.type for e in events} == {"ppmi.environment.reconcile"}
    assert {e.data.environment_id for e in events} >= created
