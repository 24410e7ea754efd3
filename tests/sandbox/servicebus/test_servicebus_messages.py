"""Sending and receiving through the SDK: properties, batches, scheduling, duplicates, peek, refusals."""

from __future__ import annotations

import datetime

import pytest
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusReceivedMessage,
    ServiceBusReceiveMode,
    ServiceBusSubQueue,
)
from azure.servicebus.exceptions import ServiceBusError

from sandbox.servicebus import SandboxTokenCredential, ServiceBusBroker
from shared.clients.servicebus import servicebus_client
from tests.sandbox.servicebus.conftest import queue_receiver, queue_sender


def test_sent_message_arrives_with_its_properties_and_completing_removes_it(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    sent = ServiceBusMessage(
        '{"hello": "world"}',
        message_id="m-1",
        application_properties={"eventType": "ppmi.environment.created", "attempt": 2},
        content_type="application/cloudevents+json",
        correlation_id="corr-1",
        subject="environment",
        reply_to_session_id="caller-7",
        time_to_live=datetime.timedelta(minutes=5),
    )
    with queue_sender(client, "plain") as sender:
        sender.send_messages(sent)
    (stored,) = broker.queue("plain").messages()
    assert (stored.message_id, stored.body, stored.reply_to_session_id) == (
        "m-1",
        b'{"hello": "world"}',
        "caller-7",
    )
    assert stored.application_properties == {"eventType": "ppmi.environment.created", "attempt": 2}
    # The SDK's default receiver (no prefetch), as the product's workers use it.
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        (received,) = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        assert str(received) == '{"hello": "world"}'
        assert received.message_id == "m-1"
        assert received.application_properties == {b"eventType": b"ppmi.environment.created", b"attempt": 2}
        assert received.content_type == "application/cloudevents+json"
        assert received.correlation_id == "corr-1"
        assert received.subject == "environment"
        assert received.reply_to_session_id == "caller-7"
        assert received.time_to_live == datetime.timedelta(minutes=5)
        assert received.delivery_count == 0
        assert received.sequence_number == 1
        assert received.enqueued_time_utc is not None
        assert received.locked_until_utc is not None
        assert received.locked_until_utc > received.enqueued_time_utc
        receiver.complete_message(received)
    assert broker.queue("plain").active_count == 0


def test_scheduled_message_appears_only_after_its_time(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "plain") as sender, queue_receiver(client, "plain") as receiver:
        assert receiver.peek_messages() == []
        due = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1.5)
        (number,) = sender.schedule_messages(ServiceBusMessage("later"), due)
        (cancelled,) = sender.schedule_messages(ServiceBusMessage("never"), due)
        sender.cancel_scheduled_messages(cancelled)
        assert broker.queue("plain").scheduled_count == 1
        assert receiver.receive_messages(max_wait_time=0.2) == []
        (message,) = receiver.receive_messages(max_wait_time=5)
        assert datetime.datetime.now(datetime.UTC) >= due
        assert message.sequence_number == number
        assert str(message) == "later"
        receiver.complete_message(message)
    assert broker.queue("plain").messages() == []


def test_second_message_with_the_same_id_inside_the_window_is_dropped(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "events") as sender:
        sender.send_messages(ServiceBusMessage("first", message_id="event-1"))
        sender.send_messages(ServiceBusMessage("again", message_id="event-1"))
        sender.send_messages(ServiceBusMessage("other", message_id="event-2"))
    assert [m.body for m in broker.queue("events").messages()] == [b"first", b"other"]


def test_batch_send_delivers_every_message_in_order(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "plain") as sender:
        batch = sender.create_message_batch()
        for index in range(5):
            batch.add_message(ServiceBusMessage(f"item {index}", application_properties={"index": index}))
        sender.send_messages(batch)
        sender.send_messages([ServiceBusMessage("list 1"), ServiceBusMessage("list 2")])
    bodies = [m.body.decode() for m in broker.queue("plain").messages()]
    assert bodies == [f"item {index}" for index in range(5)] + ["list 1", "list 2"]
    with queue_receiver(client, "plain", receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
        received: list[ServiceBusReceivedMessage] = []
        while len(received) < 7:
            received += receiver.receive_messages(max_message_count=10, max_wait_time=5)
    assert [str(m) for m in received] == bodies
    assert broker.queue("plain").active_count == 0


def test_peek_shows_messages_without_locking_or_counting_them(client: ServiceBusClient) -> None:
    with queue_sender(client, "plain") as sender:
        sender.send_messages([ServiceBusMessage("a"), ServiceBusMessage("b"), ServiceBusMessage("c")])
    with queue_receiver(client, "plain", max_wait_time=5) as receiver:
        peeked = receiver.peek_messages(max_message_count=2)
        rest = receiver.peek_messages(max_message_count=10)
        assert [str(m) for m in peeked] == ["a", "b"]
        assert [str(m) for m in rest] == ["c"]
        assert receiver.peek_messages(max_message_count=10, sequence_number=1)[0].sequence_number == 1
        (first,) = receiver.receive_messages(max_wait_time=5)
        assert (str(first), first.delivery_count) == ("a", 0)
        receiver.complete_message(first)


def test_session_queue_refuses_a_message_without_session_id(client: ServiceBusClient) -> None:
    with queue_sender(client, "work") as sender, pytest.raises(ServiceBusError):
        sender.send_messages(ServiceBusMessage("no session"))


def test_unknown_queue_is_reported_to_the_sender(broker: ServiceBusBroker) -> None:
    credential = SandboxTokenCredential()
    with (
        servicebus_client(broker.fully_qualified_namespace, credential, tls=False, retry_total=0) as client,
        queue_sender(client, "nope") as sender,
        pytest.raises(ServiceBusError),
    ):
        sender.send_messages(ServiceBusMessage("lost"))


def test_message_past_its_time_to_live_is_dead_lettered_as_expired(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "expiring") as sender:
        sender.send_messages(ServiceBusMessage("stale", time_to_live=datetime.timedelta(seconds=1)))
    assert broker.queue("expiring").active_count == 1
    with queue_receiver(client, "expiring", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        (expired,) = dlq.receive_messages(max_wait_time=5)
        assert (str(expired), expired.dead_letter_reason) == ("stale", "TTLExpiredException")
        dlq.complete_message(expired)
    assert broker.queue("expiring").active_count == 0
