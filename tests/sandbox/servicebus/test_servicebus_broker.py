"""The broker as a Python object: default queues, start and stop, and what a closed receiver leaves behind."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from sandbox.servicebus import QueueOptions, SandboxTokenCredential, ServiceBusBroker
from tests.sandbox.servicebus.conftest import SHORT_LOCK, queue_receiver, queue_sender


def test_default_queues_are_the_ones_ppmi_uses() -> None:
    broker = ServiceBusBroker()
    assert broker.queue("ppmi-events").options.duplicate_detection_window is not None
    work = broker.queue("ppmi-work").options
    assert (work.requires_session, work.max_delivery_count, work.lock_duration) == (True, 10, 30.0)
    assert broker.queue("ppmi-results").options.requires_session
    assert broker.queue("ppmi-kept").options.max_delivery_count == 100
    with pytest.raises(KeyError, match="ppmi-events"):
        broker.queue("ppmi-other")
    with pytest.raises(RuntimeError, match="start"):
        _ = broker.port


def test_stopping_closes_the_port_and_ends_the_thread_even_with_a_client_attached() -> None:
    with ServiceBusBroker(queues={"q": QueueOptions()}) as broker:
        port = broker.port
        client = ServiceBusClient(
            broker.fully_qualified_namespace, SandboxTokenCredential(), use_tls=False, retry_total=0
        )
        sender = client.get_queue_sender("q", keep_alive=0)
        sender.send_messages(ServiceBusMessage("still connected"))
        running_with_a_client = broker.is_running
    assert (running_with_a_client, broker.is_running) == (True, False)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    sender.close()
    client.close()


def test_message_held_by_a_closed_receiver_returns_only_when_its_lock_expires(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "short-lock") as sender:
        sender.send_messages(ServiceBusMessage("taken, then the receiver died"))
    with queue_receiver(client, "short-lock") as receiver:
        (taken,) = receiver.receive_messages(max_wait_time=5)
    assert [m.state for m in broker.queue("short-lock").messages()] == ["locked"]
    with queue_receiver(client, "short-lock") as successor:
        (again,) = successor.receive_messages(max_wait_time=SHORT_LOCK * 4)
        assert (again.sequence_number, again.delivery_count) == (taken.sequence_number, 1)
        successor.complete_message(again)


def test_a_port_already_taken_is_reported_with_what_to_do() -> None:
    with ServiceBusBroker(queues={"q": QueueOptions()}) as first:
        second = ServiceBusBroker(queues={"q": QueueOptions()}, port=first.port)
        with pytest.raises(RuntimeError, match="pick another port"):
            second.start()
        assert not second.is_running


@pytest.mark.parametrize(
    "options",
    [{"max_delivery_count": 0}, {"lock_duration": 0.0}, {"duplicate_detection_window": -1.0}],
)
def test_queue_options_that_service_bus_would_refuse_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be"):
        QueueOptions(**options)
