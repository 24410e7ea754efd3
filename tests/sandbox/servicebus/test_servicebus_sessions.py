"""Sessions: one receiver per session at a time, next available session, session state and session locks."""

from __future__ import annotations

import pytest
from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusClient, ServiceBusMessage
from azure.servicebus.exceptions import (
    OperationTimeoutError,
    SessionCannotBeLockedError,
    SessionLockLostError,
)

from sandbox.servicebus import ServiceBusBroker
from tests.sandbox.servicebus.conftest import SHORT_LOCK, queue_receiver, queue_sender


def _send(client: ServiceBusClient, queue: str, *messages: tuple[str, str]) -> None:
    with queue_sender(client, queue) as sender:
        sender.send_messages([ServiceBusMessage(body, session_id=session) for session, body in messages])


def test_two_receivers_take_one_session_each_and_see_its_messages_in_order(client: ServiceBusClient) -> None:
    _send(client, "work", ("env-a", "a1"), ("env-b", "b1"), ("env-a", "a2"), ("env-b", "b2"))
    with (
        queue_receiver(client, "work", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=5) as first,
        queue_receiver(client, "work", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=5) as second,
    ):
        seen: dict[str, list[str]] = {}
        for receiver in (first, second):
            messages = receiver.receive_messages(max_message_count=10, max_wait_time=5)
            for message in messages:
                receiver.complete_message(message)
            assert receiver.session.session_id is not None
            seen[receiver.session.session_id] = [str(m) for m in messages]
    assert seen == {"env-a": ["a1", "a2"], "env-b": ["b1", "b2"]}


def test_a_locked_session_is_not_given_to_a_second_receiver(client: ServiceBusClient) -> None:
    _send(client, "work", ("env-a", "a1"))
    with queue_receiver(client, "work", session_id="env-a", max_wait_time=5) as holder:
        with (
            pytest.raises(SessionCannotBeLockedError),
            queue_receiver(client, "work", session_id="env-a", max_wait_time=5) as intruder,
        ):
            intruder.receive_messages(max_wait_time=1)
        (message,) = holder.receive_messages(max_wait_time=5)
        holder.complete_message(message)


def test_next_available_session_skips_locked_sessions_and_times_out_when_none_is_free(
    client: ServiceBusClient,
) -> None:
    _send(client, "work", ("env-a", "a1"), ("env-b", "b1"))
    with queue_receiver(client, "work", session_id="env-a", max_wait_time=5) as holder:
        with queue_receiver(client, "work", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=5) as other:
            (message,) = other.receive_messages(max_wait_time=5)
            assert (other.session.session_id, str(message)) == ("env-b", "b1")
            other.complete_message(message)
        with (
            pytest.raises(OperationTimeoutError),
            queue_receiver(client, "work", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=1) as nobody,
        ):
            nobody.receive_messages(max_wait_time=1)
        assert holder.session.session_id == "env-a"


def test_session_state_survives_the_receiver_and_lock_renewal_extends_the_session(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    _send(client, "work", ("env-a", "a1"))
    with queue_receiver(client, "work", session_id="env-a", max_wait_time=5) as receiver:
        assert receiver.session.get_state() is None
        receiver.session.set_state(b'{"attempt": 2}')
        before = receiver.session.locked_until_utc
        assert before is not None
        assert receiver.session.renew_lock() >= before
    assert broker.queue("work").session_state("env-a") == b'{"attempt": 2}'
    with queue_receiver(client, "work", session_id="env-a", max_wait_time=5) as again:
        assert again.session.get_state() == b'{"attempt": 2}'


def test_expired_session_lock_frees_the_session_and_counts_the_delivery(
    client: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    _send(client, "short-session", ("env-a", "a1"))
    with queue_receiver(client, "short-session", session_id="env-a", max_wait_time=5) as sleepy:
        (first,) = sleepy.receive_messages(max_wait_time=5)
        with queue_receiver(
            client, "short-session", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=SHORT_LOCK * 4
        ) as successor:
            (again,) = successor.receive_messages(max_wait_time=5)
            assert (str(again), again.delivery_count) == ("a1", 1)
            successor.complete_message(again)
        with pytest.raises(SessionLockLostError):
            sleepy.complete_message(first)
    assert (broker.queue("short-session").lock_expiries, broker.queue("short-session").redeliveries) == (1, 1)
