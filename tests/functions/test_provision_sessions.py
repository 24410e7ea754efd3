"""`provision` messages of one session share a hold: a view of ARM, and one environment's order."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from shared.messaging import processing
from shared.messaging.disposition import Disposition, Outcome
from shared.messaging.envelope import IncomingMessage
from shared.messaging.hosting import open_messaging_host
from tests.messaging.conftest import Platform
from tests.messaging.test_batches import (
    as_work,
    assert_left_in_order_and_stayed,
    environment_event,
    leaving_and_staying,
    pool_platform,
)
from tests.messaging.test_end_to_end import package_event
from tests.messaging.test_session_view import arm_calls

__all__ = ["pool_platform"]


async def test_a_package_registered_while_its_session_is_held_binds_without_asking_arm(
    platform: Platform,
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Held")
    created = as_work(environment_event("created", environment.id, "answers"), platform)
    registered = as_work(package_event(platform, environment.id, "answers", platform.certificate), platform)

    async with open_messaging_host() as host:
        assert (await host.handle_provision(created)).outcome is Outcome.SUCCEEDED
        before = len(platform.sandbox.requests)
        assert (await host.handle_provision(registered)).outcome is Outcome.SUCCEEDED

    assert arm_calls(platform, before) == []


async def test_one_environments_events_handed_over_side_by_side_are_decided_in_queue_order(
    pool_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = pool_platform
    case = leaving_and_staying(platform)
    events = case.events
    messages = [
        dataclasses.replace(as_work(event, platform), sequence_number=number)
        for number, event in enumerate(events, start=1)
    ]

    real = processing.provision

    async def first_one_slow(message: IncomingMessage, *rest: Any) -> Disposition:
        if message.message_id == events[0].id:
            await asyncio.sleep(0.2)  # the creation would otherwise be overtaken by the deletion
        return await real(message, *rest)

    monkeypatch.setattr(processing, "provision", first_one_slow)
    async with open_messaging_host() as host:
        # As the trigger does with maxConcurrentCallsPerSession > 1: every message of the session at once.
        dispositions = await asyncio.gather(*(host.handle_provision(message) for message in messages))

    assert [d.outcome for d in dispositions] == [Outcome.SUCCEEDED] * len(events)
    assert_left_in_order_and_stayed(platform, case)
