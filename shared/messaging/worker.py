"""`ppmi worker`: the Functions host's Service Bus semantics on the same queues, for local use and containers.

Peek-lock; complete after the handler returns (its messages are sent by then); abandon when it raises, so the
message comes straight back; dead-letter past the max delivery count. `ppmi-work` is read by session, in one
of three ways (`SessionHandling`): the worker's own, the deployed Functions trigger's, or the Functions batch
trigger's, and `instances` copies of the whole host run side by side, each with its own view of ARM and its
own pacing, as scaled-out Functions instances do. Stopping lets the messages in hand finish.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from azure.servicebus import NEXT_AVAILABLE_SESSION
from azure.servicebus.aio import AutoLockRenewer, ServiceBusClient, ServiceBusReceiver
from azure.servicebus.exceptions import OperationTimeoutError, ServiceBusError

from shared.messaging import draining
from shared.messaging.disposition import Disposition
from shared.messaging.draining import Drain
from shared.messaging.envelope import EVENTS_QUEUE, NO_KEEP_ALIVE, WORK_QUEUE, IncomingMessage
from shared.messaging.settling import WorkerStats
from shared.telemetry import get_logger

log = get_logger(__name__)


class MessageHandlers[S](Protocol):
    """What the worker calls per message (`MessagingHost` in production); each sends before returning."""

    client: ServiceBusClient

    async def handle_route_event(self, message: IncomingMessage) -> Disposition: ...

    async def handle_provision(self, message: IncomingMessage) -> Disposition:
        """A message as the Functions session trigger hands it over: the hold is the handler's guess."""
        ...

    def hold_session(self) -> S:
        """What the host keeps while this worker holds one session (its view of ARM); dropped on release."""
        ...

    async def handle_in_session(self, session: S, message: IncomingMessage) -> Disposition:
        """A message of the hold `session` (from `hold_session`), after its environment's earlier ones."""
        ...

    async def handle_provision_batch(
        self, messages: Sequence[IncomingMessage]
    ) -> list[Disposition | BaseException]: ...


class SessionHandling(enum.StrEnum):
    """How `ppmi-work` sessions are worked; the Functions ones reproduce the host (docs/decisions.md)."""

    # messages as they come, `batch_size` in hand, a busy session let go at half the renewal limit
    WORKER = "worker"
    # the deployed trigger: one message per call, `calls_per_session` at once, the session lock renewed
    FUNCTIONS = "functions"
    # the Functions batch trigger: one session per instance, a batch at a time, the lock never renewed
    BATCHES = "batches"


SESSION_HOLD_SHARE = 0.5  # of the lock renewal limit: messages taken before it end well inside the limit


@dataclass(frozen=True)
class WorkerOptions:
    """Mirrors host.json: `maxConcurrentSessions`, `maxConcurrentCallsPerSession`, `maxConcurrentCalls`,
    `maxAutoLockRenewalDuration`, `sessionIdleTimeout` (and `maxMessageBatchSize` for the batch trigger)."""

    sessions: int = 8
    event_receivers: int = 4
    concurrent_calls: int = 16  # intake events in hand per instance, shared by the event receivers
    batch_size: int = 256
    calls_per_session: int = 64
    handling: SessionHandling = SessionHandling.WORKER
    instances: int = 1
    max_delivery_count: int = 10
    receive_wait_seconds: float = 1.0
    session_idle_seconds: float = 2.0
    session_wait_seconds: float = 30.0  # how long a free session receiver waits for a session to be granted
    max_lock_renewal_seconds: float = 3600.0
    renew_before_seconds: float = 10.0  # a lock is renewed this long before it runs out (the SDK's period)

    @property
    def calls_per_event_receiver(self) -> int:
        return max(1, self.concurrent_calls // self.event_receivers)

    @property
    def session_slots(self) -> int:
        """Sessions one instance works at once: the batch trigger's receive loop takes one at a time."""
        return 1 if self.handling is SessionHandling.BATCHES else self.sessions


class LockRenewer(AutoLockRenewer):
    """The SDK's lock renewer, renewing `renew_before_seconds` before a lock runs out (its own: 10 s).

    Only a time-scaled sandbox needs another value: its locks are as many times shorter as everything else.
    """

    def __init__(self, max_lock_renewal_seconds: float, *, renew_before_seconds: float) -> None:
        super().__init__(max_lock_renewal_duration=max_lock_renewal_seconds)
        self._renew_period = renew_before_seconds  # type: ignore[assignment]  # the SDK declares an int


async def run_instances[S](
    hosts: Sequence[MessageHandlers[S]], options: WorkerOptions, stop: asyncio.Event
) -> WorkerStats:
    """One worker per host (a scaled-out instance each), until `stop` is set; their counts added up."""
    results = await asyncio.gather(*(run_worker(host, options, stop) for host in hosts))
    total = WorkerStats()
    for stats in results:
        total.outcomes.update(stats.outcomes)
    return total


async def run_worker[S](host: MessageHandlers[S], options: WorkerOptions, stop: asyncio.Event) -> WorkerStats:
    """Receive until `stop` is set; returns what happened to the messages received."""
    stats = WorkerStats()
    renewer = LockRenewer(options.max_lock_renewal_seconds, renew_before_seconds=options.renew_before_seconds)
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(options.event_receivers):
                group.create_task(_receive_events(host, options, stop, stats, renewer))
            for _ in range(options.session_slots):
                group.create_task(_receive_sessions(host, options, stop, stats, renewer))
    finally:
        await renewer.close()
    return stats


async def _receive_events[S](
    host: MessageHandlers[S],
    options: WorkerOptions,
    stop: asyncio.Event,
    stats: WorkerStats,
    renewer: AutoLockRenewer,
) -> None:
    while not stop.is_set():
        try:
            async with host.client.get_queue_receiver(
                EVENTS_QUEUE, auto_lock_renewer=renewer, keep_alive=NO_KEEP_ALIVE
            ) as receiver:
                drain = Drain(
                    EVENTS_QUEUE, stop, stats, options.max_delivery_count, options.receive_wait_seconds
                )
                while not stop.is_set():
                    await draining.as_they_come(
                        receiver,
                        drain,
                        handle=host.handle_route_event,
                        at_once=options.calls_per_event_receiver,
                    )
        except ServiceBusError as error:
            log.warning("receiver.reconnecting", queue=EVENTS_QUEUE, error=str(error))
            await _pause(stop, options.receive_wait_seconds)


async def _receive_sessions[S](
    host: MessageHandlers[S],
    options: WorkerOptions,
    stop: asyncio.Event,
    stats: WorkerStats,
    renewer: AutoLockRenewer,
) -> None:
    closing: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            try:
                receiver = await _next_session(host, options, stop)
                if receiver is None:
                    continue  # no session was free within the wait, or the worker is stopping
                try:
                    await _drain_session(
                        receiver, host=host, options=options, stop=stop, stats=stats, renewer=renewer
                    )
                finally:
                    # The SDK takes about a second to close a link; the slot takes the next session meanwhile.
                    task = asyncio.create_task(_close_quietly(receiver))
                    closing.add(task)
                    task.add_done_callback(closing.discard)
            except ServiceBusError as error:
                log.warning("receiver.reconnecting", queue=WORK_QUEUE, error=str(error))
                await _pause(stop, options.receive_wait_seconds)
    finally:
        await asyncio.gather(*closing)


async def _next_session[S](
    host: MessageHandlers[S], options: WorkerOptions, stop: asyncio.Event
) -> ServiceBusReceiver | None:
    """A receiver holding the next session with messages; None when none came within the wait or on stop.

    A receiver waiting for a session costs nothing until one is free, so it waits long: re-attaching every
    second would cost a connection each time. Stopping cancels the wait.
    """
    receiver = host.client.get_queue_receiver(
        WORK_QUEUE,
        session_id=NEXT_AVAILABLE_SESSION,
        max_wait_time=options.session_wait_seconds,
        keep_alive=NO_KEEP_ALIVE,
        prefetch_count=1,
    )
    opening = asyncio.create_task(receiver.__aenter__())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait((opening, stopping), return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        opening.cancel()  # the worker itself is cancelled: leave no half-open receiver behind
        raise
    finally:
        stopping.cancel()
    if not opening.done():
        opening.cancel()
        await asyncio.gather(opening, return_exceptions=True)
        await _close_quietly(receiver)
        return None
    try:
        opening.result()
    except OperationTimeoutError:
        await _close_quietly(receiver)
        return None  # no session has messages right now
    except ServiceBusError:
        await _close_quietly(receiver)
        raise
    if receiver.session.locked_until_utc is None:
        await _close_quietly(receiver)
        return None
    return receiver


async def _drain_session[S](
    receiver: ServiceBusReceiver,
    *,
    host: MessageHandlers[S],
    options: WorkerOptions,
    stop: asyncio.Event,
    stats: WorkerStats,
    renewer: AutoLockRenewer,
) -> None:
    drain = Drain(WORK_QUEUE, stop, stats, options.max_delivery_count, options.session_idle_seconds)
    if options.handling is SessionHandling.BATCHES:  # the host does not renew a batch trigger's session lock
        await draining.in_batches(
            receiver, drain, handle_batch=host.handle_provision_batch, batch_size=options.batch_size
        )
        return
    renewer.register(receiver, receiver.session)
    if options.handling is SessionHandling.FUNCTIONS:
        await draining.as_they_come(
            receiver, drain, handle=host.handle_provision, at_once=options.calls_per_session
        )
        return
    # Kept while this receiver holds the session: nobody else writes to its identities meanwhile.
    session = host.hold_session()
    await draining.as_they_come(
        receiver,
        drain,
        handle=partial(host.handle_in_session, session),
        at_once=options.batch_size,
        release_after=options.max_lock_renewal_seconds * SESSION_HOLD_SHARE,
    )


async def _close_quietly(receiver: ServiceBusReceiver) -> None:
    """Close a receiver whose work is done; a failure to close loses nothing (locks expire on the broker)."""
    try:
        await receiver.close()
    except ServiceBusError as error:
        log.warning("receiver.close_failed", queue=WORK_QUEUE, error=str(error))


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
