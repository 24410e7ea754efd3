"""Peek-lock through the SDK: abandon, lock expiry and renewal, delivery counts, dead-lettering, deferral."""

from __future__ import annotations

import datetime

import pytest
from azure.servicebus import (
    ServiceBusClient,
    ServiceBusMessage,
    ServiceBusSubQueue,
)
from azure.servicebus.exceptions import MessageLockLostError

from sandbox.servicebus import MAX_DELIVERY_COUNT_EXCEEDED, ServiceBusBroker
from tests.sandbox.servicebus.conftest import MAX_DELIVERIES, SHORT_LOCK, queue_receiver, queue_sender


def test_abandoned_message_comes_back_with_delivery_count_one_higher(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "plain") as sender:
        sender.send_messages(ServiceBusMessage("retry me"))
    with queue_receiver(client, "plain", max_wait_time=5) as receiver:
        (first,) = receiver.receive_messages(max_wait_time=5)
        receiver.abandon_message(first)
        (second,) = receiver.receive_messages(max_wait_time=5)
        assert (first.sequence_number, second.sequence_number) == (1, 1)
        assert (first.delivery_count, second.delivery_count) == (0, 1)
        receiver.complete_message(second)
    assert (broker.queue("plain").lock_expiries, broker.queue("plain").redeliveries) == (0, 1)


def test_expired_lock_makes_the_message_available_again_and_the_old_lock_useless(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "short-lock") as sender:
        sender.send_messages(ServiceBusMessage("slow consumer"))
    with queue_receiver(client, "short-lock", max_wait_time=5) as receiver:
        (first,) = receiver.receive_messages(max_wait_time=5)
        (again,) = receiver.receive_messages(max_wait_time=SHORT_LOCK * 4)
        assert again.sequence_number == first.sequence_number
        assert again.delivery_count == 1
        with pytest.raises(MessageLockLostError):
            receiver.complete_message(first)
        receiver.complete_message(again)
    assert (broker.queue("short-lock").lock_expiries, broker.queue("short-lock").redeliveries) == (1, 1)


def test_renewing_the_lock_keeps_the_message_from_other_receivers(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "short-lock") as sender:
        sender.send_messages(ServiceBusMessage("long job"))
    with (
        queue_receiver(client, "short-lock") as holder,
        queue_receiver(client, "short-lock") as competitor,
    ):
        (held,) = holder.receive_messages(max_wait_time=5)
        assert held.locked_until_utc is not None
        original_expiry = held.locked_until_utc
        for _ in range(2):
            renewed = holder.renew_message_lock(held)
            assert competitor.receive_messages(max_wait_time=SHORT_LOCK * 0.6) == []
        assert renewed > original_expiry
        assert datetime.datetime.now(datetime.UTC) > original_expiry
        holder.complete_message(held)
    assert broker.queue("short-lock").active_count == 0


def test_message_abandoned_max_delivery_count_times_lands_in_the_dead_letter_queue(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "plain") as sender:
        sender.send_messages(ServiceBusMessage("poison", message_id="poison-1"))
    with queue_receiver(client, "plain", max_wait_time=5) as receiver:
        for _ in range(MAX_DELIVERIES):
            (message,) = receiver.receive_messages(max_wait_time=5)
            receiver.abandon_message(message)
        assert receiver.receive_messages(max_wait_time=0.5) == []
    (dead,) = broker.queue("plain").dead_letters()
    assert dead.dead_letter_reason == MAX_DELIVERY_COUNT_EXCEEDED
    with queue_receiver(client, "plain", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        (from_dlq,) = dlq.receive_messages(max_wait_time=5)
        assert from_dlq.message_id == "poison-1"
        assert from_dlq.dead_letter_reason == "MaxDeliveryCountExceeded"
        dlq.complete_message(from_dlq)
    assert broker.queue("plain").dead_letter_count == 0


def test_explicitly_dead_lettered_message_keeps_reason_and_description(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "plain") as sender:
        sender.send_messages(ServiceBusMessage("bad input"))
    with queue_receiver(client, "plain", max_wait_time=5) as receiver:
        (message,) = receiver.receive_messages(max_wait_time=5)
        receiver.dead_letter_message(
            message, reason="SchemaError", error_description="data.environmentId missing"
        )
    assert broker.queue("plain").active_count == 0
    with queue_receiver(client, "plain", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
        (dead,) = dlq.receive_messages(max_wait_time=5)
        assert dead.dead_letter_reason == "SchemaError"
        assert dead.dead_letter_error_description == "data.environmentId missing"
        assert str(dead) == "bad input"


def test_deferred_message_is_only_received_by_its_sequence_number(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    with queue_sender(client, "plain") as sender:
        sender.send_messages(ServiceBusMessage("not yet"))
    with queue_receiver(client, "plain", max_wait_time=5) as receiver:
        (message,) = receiver.receive_messages(max_wait_time=5)
        receiver.defer_message(message)
        assert broker.queue("plain").deferred_count == 1
        assert receiver.receive_messages(max_wait_time=0.3) == []
        assert message.sequence_number is not None
        (deferred,) = receiver.receive_deferred_messages([message.sequence_number])
        assert str(deferred) == "not yet"
        receiver.complete_message(deferred)
    assert broker.queue("plain").messages() == []
