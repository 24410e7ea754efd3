"""Peek-lock, settlement, delivery counts, dead-lettering, scheduling and duplicates, seen through the SDK."""

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
from azure.servicebus.exceptions import MessageLockLostError, ServiceBusError

from sandbox.servicebus import MAX_DELIVERY_COUNT_EXCEEDED, SandboxTokenCredential, ServiceBusBroker
from shared.clients.servicebus import servicebus_client
from tests.sandbox.servicebus.conftest import MAX_DELIVERIES, SHORT_LOCK


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
        time_to_live=datetime.timedelta(minutes=5),
    )
    with client.get_queue_sender("plain") as sender:
        sender.send_messages(sent)
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        (received,) = receiver.receive_messages(max_message_count=1, max_wait_time=5)
        assert str(received) == '{"hello": "world"}'
        assert received.message_id == "m-1"
        assert received.application_properties == {b"eventType": b"ppmi.environment.created", b"attempt": 2}
        assert received.content_type == "application/cloudevents+json"
        assert received.correlation_id == "corr-1"
        assert received.subject == "environment"
        assert received.time_to_live == datetime.timedelta(minutes=5)
        assert received.delivery_count == 0
        assert received.sequence_number == 1
        assert received.enqueued_time_utc is not None
        assert received.locked_until_utc is not None
        assert received.locked_until_utc > received.enqueued_time_utc
        receiver.complete_message(received)
    assert broker.queue("plain").active_count == 0


def test_abandoned_message_comes_back_with_delivery_count_one_higher(client: ServiceBusClient) -> None:
    with client.get_queue_sender("plain") as sender:
        sender.send_messages(ServiceBusMessage("retry me"))
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        (first,) = receiver.receive_messages(max_wait_time=5)
        receiver.abandon_message(first)
        (second,) = receiver.receive_messages(max_wait_time=5)
        assert (first.sequence_number, second.sequence_number) == (1, 1)
        assert (first.delivery_count, second.delivery_count) == (0, 1)
        receiver.complete_message(second)


def test_expired_lock_makes_the_message_available_again_and_the_old_lock_useless(
    client: ServiceBusClient,
) -> None:
    with client.get_queue_sender("short-lock") as sender:
        sender.send_messages(ServiceBusMessage("slow consumer"))
    with client.get_queue_receiver("short-lock", max_wait_time=5) as receiver:
        (first,) = receiver.receive_messages(max_wait_time=5)
        (again,) = receiver.receive_messages(max_wait_time=SHORT_LOCK * 4)
        assert again.sequence_number == first.sequence_number
        assert again.delivery_count == 1
        with pytest.raises(MessageLockLostError):
            receiver.complete_message(first)
        receiver.complete_message(again)


def test_renewing_the_lock_keeps_the_message_from_other_receivers(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("short-lock") as sender:
        sender.send_messages(ServiceBusMessage("long job"))
    with (
        client.get_queue_receiver("short-lock") as holder,
        client.get_queue_receiver("short-lock") as competitor,
    ):
        (held,) = holder.receive_messages(max_wait_time=5)
        assert held.locked_until_utc is not None
        original_expiry = held.locked_until_utc
        for _ in range(3):
            renewed = holder.renew_message_lock(held)
            assert competitor.receive_messages(max_wait_time=SHORT_LOCK * 0.6) == []
        assert renewed > original_expiry
        assert datetime.datetime.now(datetime.UTC) > original_expiry
        holder.complete_message(held)
    assert broker.queue("short-lock").active_count == 0


def test_message_abandoned_max_delivery_count_times_lands_in_the_dead_letter_queue(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("plain") as sender:
        sender.send_messages(ServiceBusMessage("poison", message_id="poison-1"))
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        for _ in range(MAX_DELIVERIES):
            (message,) = receiver.receive_messages(max_wait_time=5)
            receiver.abandon_message(message)
        assert receiver.receive_messages(max_wait_time=0.5) == []
    (dead,) = broker.queue("plain").dead_letters()
    assert dead.dead_letter_reason == MAX_DELIVERY_COUNT_EXCEEDED
    with client.get_queue_receiver("plain", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        (from_dlq,) = dlq.receive_messages(max_wait_time=5)
        assert from_dlq.message_id == "poison-1"
        assert from_dlq.dead_letter_reason == "MaxDeliveryCountExceeded"
        dlq.complete_message(from_dlq)
    assert broker.queue("plain").dead_letter_count == 0


def test_explicitly_dead_lettered_message_keeps_reason_and_description(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("plain") as sender:
        sender.send_messages(ServiceBusMessage("bad input"))
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        (message,) = receiver.receive_messages(max_wait_time=5)
        receiver.dead_letter_message(
            message, reason="SchemaError", error_description="data.environmentId missing"
        )
    assert broker.queue("plain").active_count == 0
    with client.get_queue_receiver("plain", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        (dead,) = dlq.receive_messages(max_wait_time=5)
        assert dead.dead_letter_reason == "SchemaError"
        assert dead.dead_letter_error_description == "data.environmentId missing"
        assert str(dead) == "bad input"


def test_scheduled_message_appears_only_after_its_time(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("plain") as sender, client.get_queue_receiver("plain") as receiver:
        assert receiver.peek_messages() == []
        due = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2)
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
        assert receiver.receive_messages(max_wait_time=0.2) == []


def test_second_message_with_the_same_id_inside_the_window_is_dropped(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("events") as sender:
        sender.send_messages(ServiceBusMessage("first", message_id="event-1"))
        sender.send_messages(ServiceBusMessage("again", message_id="event-1"))
        sender.send_messages(ServiceBusMessage("other", message_id="event-2"))
    assert [m.body for m in broker.queue("events").messages()] == [b"first", b"other"]


def test_batch_send_delivers_every_message_in_order(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("plain") as sender:
        batch = sender.create_message_batch()
        for index in range(5):
            batch.add_message(ServiceBusMessage(f"item {index}", application_properties={"index": index}))
        sender.send_messages(batch)
        sender.send_messages([ServiceBusMessage("list 1"), ServiceBusMessage("list 2")])
    bodies = [m.body.decode() for m in broker.queue("plain").messages()]
    assert bodies == [f"item {index}" for index in range(5)] + ["list 1", "list 2"]
    with client.get_queue_receiver(
        "plain", receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE
    ) as receiver:
        received: list[ServiceBusReceivedMessage] = []
        while len(received) < 7:
            received += receiver.receive_messages(max_message_count=10, max_wait_time=5)
    assert [str(m) for m in received] == bodies
    assert broker.queue("plain").active_count == 0


def test_peek_shows_messages_without_locking_or_counting_them(client: ServiceBusClient) -> None:
    with client.get_queue_sender("plain") as sender:
        sender.send_messages([ServiceBusMessage("a"), ServiceBusMessage("b"), ServiceBusMessage("c")])
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        peeked = receiver.peek_messages(max_message_count=2)
        rest = receiver.peek_messages(max_message_count=10)
        assert [str(m) for m in peeked] == ["a", "b"]
        assert [str(m) for m in rest] == ["c"]
        assert receiver.peek_messages(max_message_count=10, sequence_number=1)[0].sequence_number == 1
        (first,) = receiver.receive_messages(max_wait_time=5)
        assert (str(first), first.delivery_count) == ("a", 0)
        receiver.complete_message(first)


def test_deferred_message_is_only_received_by_its_sequence_number(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with client.get_queue_sender("plain") as sender:
        sender.send_messages(ServiceBusMessage("not yet"))
    with client.get_queue_receiver("plain", max_wait_time=5) as receiver:
        (message,) = receiver.receive_messages(max_wait_time=5)
        receiver.defer_message(message)
        assert broker.queue("plain").deferred_count == 1
        assert receiver.receive_messages(max_wait_time=0.3) == []
        assert message.sequence_number is not None
        (deferred,) = receiver.receive_deferred_messages([message.sequence_number])
        assert str(deferred) == "not yet"
        receiver.complete_message(deferred)
    assert broker.queue("plain").messages() == []


def test_session_queue_refuses_a_message_without_session_id(client: ServiceBusClient) -> None:
    with client.get_queue_sender("work") as sender, pytest.raises(ServiceBusError):
        sender.send_messages(ServiceBusMessage("no session"))


def test_unknown_queue_is_reported_to_the_sender(broker: ServiceBusBroker) -> None:
    credential = SandboxTokenCredential()
    with (
        servicebus_client(broker.fully_qualified_namespace, credential, tls=False, retry_total=0) as client,
        client.get_queue_sender("nope") as sender,
        pytest.raises(ServiceBusError),
    ):
        sender.send_messages(ServiceBusMessage("lost"))
