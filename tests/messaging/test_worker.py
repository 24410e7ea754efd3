"""The worker's host semantics against the sandbox broker, with stand-in handlers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from azure.servicebus.aio import ServiceBusClient

from sandbox.servicebus import ServiceBusBroker
from shared.messaging.disposition import Disposition, Outcome
from shared.messaging.envelope import EVENTS_QUEUE, WORK_QUEUE, IncomingMessage, OutgoingMessage
from shared.messaging.outbox import Outbox
from shared.messaging.sessions import OrderedKeys
from shared.messaging.settling import WorkerStats
from shared.messaging.worker import WorkerOptions, run_worker
from tests.messaging.conftest import MAX_DELIVERIES

OPTIONS = WorkerOptions(
    sessions=4, event_receivers=1, max_delivery_count=50, receive_wait_seconds=0.2, session_idle_seconds=0.3
)


@dataclass
class RecordingHandlers:
    """Records what it handled; `behaviour` decides per message."""

    client: ServiceBusClient
    behaviour: Callable[[IncomingMessage], Awaitable[None]]
    handled: list[IncomingMessage] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)  # message IDs of each work batch

    async def handle_route_event(self, message: IncomingMessage) -> Disposition:
        return await self._handle(message)

    def order_key(self, message: IncomingMessage) -> str:
        return message.message_id.split("-")[0]  # `work(session, n)` IDs: one chain per session

    def hold_session(self) -> OrderedKeys:
        return OrderedKeys()

    async def handle_in_session(self, session: OrderedKeys, message: IncomingMessage) -> Disposition:
        return await session.run(
            self.order_key(message), message.sequence_number or 0, lambda: self._handle(message)
        )

    async def handle_provision(self, message: IncomingMessage) -> Disposition:
        return await self._handle(message)

    async def handle_provision_batch(
        self, messages: Sequence[IncomingMessage]
    ) -> list[Disposition | BaseException]:
        self.batches.append([message.message_id for message in messages])
        results: list[Disposition | BaseException] = []
        for message in messages:
            try:
                results.append(await self._handle(message))
            except Exception as error:  # as the host hands it back: only this message is abandoned
                results.append(error)
        return results

    async def _handle(self, message: IncomingMessage) -> Disposition:
        self.handled.append(message)
        await self.behaviour(message)
        return Disposition(Outcome.SUCCEEDED, "ok", ())


@asynccontextmanager
async def running(
    handlers: RecordingHandlers, options: WorkerOptions = OPTIONS
) -> AsyncIterator[WorkerStats]:
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(handlers, options, stop))
    stats = WorkerStats()
    try:
        yield stats
    finally:
        stop.set()
        stats.outcomes.update((await asyncio.wait_for(task, 10)).outcomes)


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll a condition on the broker or the handlers (state, not timing)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if condition():
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


def work(session: str, number: int) -> OutgoingMessage:
    return OutgoingMessage(queue=WORK_QUEUE, body=b"{}", message_id=f"{session}-{number}", session_id=session)


async def test_a_handled_message_is_completed_and_a_failing_one_dead_lettered_past_the_max_delivery_count(
    servicebus: ServiceBusClient, broker: ServiceBusBroker
) -> None:
    async def broken_for_bad(message: IncomingMessage) -> None:
        if message.message_id == "bad":
            raise RuntimeError("handler bug")

    handlers = RecordingHandlers(servicebus, broken_for_bad)
    outbox = Outbox(servicebus)
    await outbox.send(
        [
            OutgoingMessage(queue=EVENTS_QUEUE, body=b"{}", message_id="good"),
            OutgoingMessage(queue=EVENTS_QUEUE, body=b"{}", message_id="bad"),
        ]
    )
    async with running(handlers) as stats:
        await until(lambda: broker.queue(EVENTS_QUEUE).dead_letter_count == 1)
    await outbox.close()

    assert broker.queue(EVENTS_QUEUE).messages() == []
    (dead,) = broker.queue(EVENTS_QUEUE).dead_letters()
    assert (dead.message_id, dead.dead_letter_reason) == ("bad", "MaxDeliveryCountExceeded")
    bad = [m for m in handlers.handled if m.message_id == "bad"]
    assert [m.delivery_count for m in bad] == list(range(1, MAX_DELIVERIES + 1))
    assert stats.outcomes == {
        f"{EVENTS_QUEUE}:succeeded": 1,
        f"{EVENTS_QUEUE}:abandoned": MAX_DELIVERIES,
        f"{EVENTS_QUEUE}:redelivered": MAX_DELIVERIES - 1,
    }


async def test_one_session_is_handled_one_message_at_a_time_and_sessions_run_side_by_side(
    servicebus: ServiceBusClient,
) -> None:
    running_now: dict[str, int] = {}
    overlaps: list[str] = []
    most_sessions_at_once = 0

    async def slow(message: IncomingMessage) -> None:
        nonlocal most_sessions_at_once
        session = message.session_id or ""
        running_now[session] = running_now.get(session, 0) + 1
        if running_now[session] > 1:
            overlaps.append(session)
        most_sessions_at_once = max(most_sessions_at_once, sum(1 for n in running_now.values() if n))
        await asyncio.sleep(0.05)
        running_now[session] -= 1

    handlers = RecordingHandlers(servicebus, slow)
    outbox = Outbox(servicebus)
    await outbox.send([work(session, n) for n in range(4) for session in ("identity-a", "identity-b")])
    async with running(handlers):
        await until(lambda: len(handlers.handled) == 8)
    await outbox.close()

    assert overlaps == []
    assert most_sessions_at_once == 2
    order_a = [m.message_id for m in handlers.handled if m.session_id == "identity-a"]
    assert order_a == [f"identity-a-{n}" for n in range(4)]


async def test_a_single_session_slot_serves_identity_after_identity_and_stops_without_waiting_for_work(
    servicebus: ServiceBusClient,
) -> None:
    async def quick(message: IncomingMessage) -> None:
        return None

    handlers = RecordingHandlers(servicebus, quick)
    outbox = Outbox(servicebus)
    await outbox.send([work(f"identity-{n}", 0) for n in range(3)])
    one_slot = WorkerOptions(
        sessions=1,
        event_receivers=1,
        receive_wait_seconds=0.2,
        session_idle_seconds=0.2,
        session_wait_seconds=60,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(handlers, one_slot, stop))
    await until(lambda: len(handlers.handled) == 3)
    stop.set()
    stats = await asyncio.wait_for(task, 10)  # far less than the 60 s a free slot waits for a session
    await outbox.close()

    assert sorted(m.session_id or "" for m in handlers.handled) == [f"identity-{n}" for n in range(3)]
    assert stats.outcomes == {f"{WORK_QUEUE}:succeeded": 3}
