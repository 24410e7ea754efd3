"""The process's Service Bus client: receivers open without reloading the CA bundle each time."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

from shared.messaging.connection import amqp_tls_context, open_servicebus
from shared.messaging.envelope import EVENTS_QUEUE, NO_KEEP_ALIVE
from shared.settings import Settings
from tests.messaging.conftest import Platform


async def test_opening_receivers_loads_the_ca_bundle_once_per_process(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    real_load = ssl.SSLContext.load_verify_locations

    def counting_load(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args)
        real_load(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting_load)
    amqp_tls_context.cache_clear()
    async with open_servicebus(Settings.from_env()) as client:
        for _ in range(3):
            async with client.get_queue_receiver(EVENTS_QUEUE, keep_alive=NO_KEEP_ALIVE) as receiver:
                assert await receiver.receive_messages(max_message_count=1, max_wait_time=0.05) == []
    assert len(loads) == 1
