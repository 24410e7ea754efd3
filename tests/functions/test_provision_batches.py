"""The Functions `provision` trigger with a session's batch of ppmi-work messages (cardinality many)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from azure.functions.servicebus import ServiceBusMessage

from sandbox.servicebus import MessageSnapshot
from shared.engine import Runtime
from shared.events import Event, parse_result
from shared.messaging import processing
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import Disposition
from shared.messaging.envelope import KEPT_QUEUE, RESULTS_QUEUE, WORK_QUEUE, IncomingMessage
from shared.messaging.hosting import process_host
from tests.functions.test_function_app import delivered, trigger
from tests.messaging.conftest import Platform
from tests.messaging.test_end_to_end import package_event

Provision = Callable[[IncomingMessage, Runtime, MessagingSettings, datetime], Awaitable[Disposition]]


@pytest.fixture
async def app_host(platform: Platform) -> AsyncIterator[Platform]:
    """The app's process-wide host, closed after the test."""
    yield platform
    await process_host.close()


async def routed(platform: Platform, events: list[Event]) -> list[MessageSnapshot]:
    """Route the events as the app does; what they became on ppmi-work, in the order they were sent."""
    for event in events:
        await trigger("route_event")(delivered(event.to_json(), event.id))
    return platform.broker.queue(WORK_QUEUE).messages()


def as_delivered(work: MessageSnapshot, delivery_count: int = 1) -> ServiceBusMessage:
    """A ppmi-work message as the host hands it to the trigger."""
    return ServiceBusMessage(
        body=work.body,
        message_id=str(work.message_id),
        session_id=work.session_id,
        delivery_count=delivery_count,
        application_properties=dict(work.application_properties),
        user_properties={},
    )


def answers(platform: Platform, session: str) -> list[tuple[str | None, str]]:
    return [
        (message.correlation_id, parse_result(message.body).data.outcome)
        for message in platform.broker.queue(RESULTS_QUEUE).messages()
        if message.session_id == session
    ]


def fics(platform: Platform) -> list[str]:
    identities: list[dict[str, Any]] = platform.sandbox.control.dump()["identities"]
    return sorted(fic["name"] for identity in identities for fic in identity["federatedIdentityCredentials"])


async def test_provision_converges_and_answers_every_message_of_a_sessions_batch(app_host: Platform) -> None:
    environment = app_host.sandbox.control.create_environment(display_name="Batch")
    events = [
        package_event(app_host, environment.id, "pipeline-batch", app_host.certificate),
        package_event(app_host, environment.id, "pipeline-batch", app_host.second_certificate),
    ]
    work = await routed(app_host, events)
    assert len({message.session_id for message in work}) == 1

    await trigger("provision")([as_delivered(message) for message in work])

    assert answers(app_host, "pipeline-batch") == [(event.id, "succeeded") for event in events]
    assert len(fics(app_host)) == 2  # one per signer, on the environment's identity
    (row,) = app_host.sandbox.control.rows(environment.id, "managedidentities")
    packages = app_host.sandbox.control.rows(environment.id, "pluginpackages")
    assert [package["_managedidentityid_value"] for package in packages] == [row["managedidentityid"]] * 2


def breaking(monkeypatch: pytest.MonkeyPatch, broken: str) -> None:
    """`processing.provision` raises for the message `broken`, as a bug would."""
    real: Provision = processing.provision

    async def provision(
        message: IncomingMessage, runtime: Runtime, settings: MessagingSettings, now: datetime
    ) -> Disposition:
        if message.message_id == broken:
            raise RuntimeError("handler bug")
        return await real(message, runtime, settings, now)

    monkeypatch.setattr(processing, "provision", provision)


async def test_a_message_that_raises_is_tried_again_alone_and_its_batch_mate_is_answered_once(
    app_host: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = app_host.sandbox.control.create_environment(display_name="Broken")
    events = [
        package_event(app_host, environment.id, "pipeline-broken", app_host.certificate),
        package_event(app_host, environment.id, "pipeline-broken", app_host.second_certificate),
    ]
    work = await routed(app_host, events)
    breaking(monkeypatch, str(work[1].message_id))

    await trigger("provision")([as_delivered(message) for message in work])  # returns: nothing comes back

    assert answers(app_host, "pipeline-broken") == [(events[0].id, "succeeded")]
    latest = work[-1].sequence_number
    (again,) = [m for m in app_host.broker.queue(WORK_QUEUE).messages() if m.sequence_number > latest]
    assert again.state == "scheduled"
    assert again.session_id == work[1].session_id
    assert again.body == work[1].body  # the same event
    assert again.application_properties["ppmi-attempt"] == 2


async def test_a_message_that_raises_on_its_last_attempt_is_answered_failed_and_kept_with_its_reason(
    app_host: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = app_host.sandbox.control.create_environment(display_name="Broken for good")
    (event,) = [package_event(app_host, environment.id, "pipeline-lost", app_host.certificate)]
    (work,) = await routed(app_host, [event])
    breaking(monkeypatch, str(work.message_id))
    last = as_delivered(work)
    last.application_properties["ppmi-attempt"] = MessagingSettings().max_attempts

    await trigger("provision")([last])

    assert answers(app_host, "pipeline-lost") == [(event.id, "failed")]
    (kept,) = app_host.broker.queue(KEPT_QUEUE).messages()
    reason = str(kept.application_properties["ppmi-kept-reason"])
    assert "unexpected error (RuntimeError): handler bug" in reason
