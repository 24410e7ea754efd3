"""`ppmi worker`: the Functions host's Service Bus semantics on the same queues, for local use and containers.

Peek-lock; complete after the handler returns (its messages are sent by then); abandon when it raises, so the
message comes straight back; dead-letter past the max delivery count; `ppmi-work` by session, `sessions`
sessions at once. Within a held session, messages are taken as they come (up to `batch_size` in hand, one
environment's in order) and share one view of ARM for the hold; `whole_batches` settles as the Functions host
does instead (one batch of the waiting messages at a time, a view per batch). Stopping lets the messages in
hand finish.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusReceivedMessage
from azure.servicebus.aio import AutoLockRenewer, ServiceBusClient, ServiceBusReceiver
from azure.servicebus.exceptions import OperationTimeoutError, ServiceBusError

from shared.messaging.disposition import Disposition
from shared.messaging.envelope import EVENTS_QUEUE, NO_KEEP_ALIVE, WORK_QUEUE, IncomingMessage
from shared.messaging.outbox import from_sdk_message
from shared.messaging.processing import NotHandledError
from shared.telemetry import get_logger

log = get_logger(__name__)

Handler = Callable[[IncomingMessage], Awaitable[Disposition]]


class MessageHandlers(Protocol):
    """What the worker calls per message (`MessagingHost` in production); each sends before returning."""

    client: ServiceBusClient

    async def handle_route_event(self, message: IncomingMessage) -> Disposition: ...

    def order_key(self, message: IncomingMessage) -> str:
        """Messages with one key are handled in order, one after another (an environment's events)."""
        ...

    def hold_session(self) -> object:
        """What the host keeps while this worker holds one session (its view of ARM); dropped on release."""
        ...

    async def handle_provision_batch(
        self, messages: Sequence[IncomingMessage], session: object | None = None
    ) -> list[Disposition | BaseException]: ...


MAX_DELIVERY_COUNT_EXCEEDED = "MaxDeliveryCountExceeded"
SESSION_HOLD_SHARE = 0.5  # of the lock renewal limit: messages taken before it end well inside the limit


@dataclass(frozen=True)
class WorkerOptions:
    """Mirrors host.json: `maxConcurrentSessions`, `maxConcurrentCalls`, `maxAutoLockRenewalDuration`."""

    sessions: int = 8
    event_receivers: int = 4
    batch_size: int = 256
    # Settle like the Functions host: a session's waiting messages as one batch at a time, with a view of ARM
    # per batch, instead of taking messages as they come and keeping the view while the session is held.
    whole_batches: bool = False
    max_delivery_count: int = 10
    receive_wait_seconds: float = 1.0
    session_idle_seconds: float = 2.0
    session_wait_seconds: float = 30.0  # how long a free session receiver waits for a session to be granted
    max_lock_renewal_seconds: float = 300.0


@dataclass
class WorkerStats:
    """How many messages ended how, by queue; the worker's own canonical summary."""

    outcomes: Counter[str] = field(default_factory=Counter)

    def count(self, queue: str, outcome: str) -> None:
        self.outcomes[f"{queue}:{outcome}"] += 1


async def run_worker(host: MessageHandlers, options: WorkerOptions, stop: asyncio.Event) -> WorkerStats:
    """Receive until `stop` is set; returns what happened to the messages received."""
    stats = WorkerStats()
    renewer = AutoLockRenewer(max_lock_renewal_duration=options.max_lock_renewal_seconds)
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(options.event_receivers):
                group.create_task(_receive_events(host, options, stop, stats, renewer))
            for _ in range(options.sessions):
                group.create_task(_receive_sessions(host, options, stop, stats, renewer))
    finally:
        await renewer.close()
    return stats


async def _receive_events(
    host: MessageHandlers,
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
                while not stop.is_set():
                    batch = await receiver.receive_messages(
                        max_message_count=1, max_wait_time=options.receive_wait_seconds
                    )
                    for message in batch:
                        await _settle(
                            receiver,
                            message=message,
                            queue=EVENTS_QUEUE,
                            handler=host.handle_route_event,
                            options=options,
                            stats=stats,
                        )
        except ServiceBusError as error:
            log.warning("receiver.reconnecting", queue=EVENTS_QUEUE, error=str(error))
            await _pause(stop, options.receive_wait_seconds)


async def _receive_sessions(
    host: MessageHandlers,
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


async def _next_session(
    host: MessageHandlers, options: WorkerOptions, stop: asyncio.Event
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


async def _drain_session(
    receiver: ServiceBusReceiver,
    *,
    host: MessageHandlers,
    options: WorkerOptions,
    stop: asyncio.Event,
    stats: WorkerStats,
    renewer: AutoLockRenewer,
) -> None:
    """Handle a held session's messages as they come, up to `batch_size` at once, until it is idle.

    Messages keep arriving while earlier ones are handled: one environment's events run in order, each
    after the one before it, and different environments' side by side, so a pool's session never waits for
    the slowest event of a batch before taking the next. Every receiver operation (receive, settle) runs here,
    one at a time; handling runs in tasks.
    """
    renewer.register(receiver, receiver.session)
    if options.whole_batches:
        await _drain_in_batches(receiver, host=host, options=options, stop=stop, stats=stats)
        return
    # Kept while this receiver holds the session: nobody else writes to its identities meanwhile.
    session = host.hold_session()
    loop = asyncio.get_running_loop()
    # The renewer keeps the session for `max_lock_renewal_seconds`; a busy session is let go before that and
    # taken again at once, rather than losing its lock while messages are in hand.
    release_at = loop.time() + options.max_lock_renewal_seconds * SESSION_HOLD_SHARE
    chains: dict[str, tuple[asyncio.Task[Disposition | BaseException], int]] = {}  # last task, its number
    handling: dict[asyncio.Task[Disposition | BaseException], ServiceBusReceivedMessage] = {}
    try:
        while not stop.is_set() and loop.time() < release_at:
            room = options.batch_size - len(handling)
            received: list[ServiceBusReceivedMessage] = []
            if room > 0:
                wait = options.session_idle_seconds if not handling else BUSY_RECEIVE_SECONDS
                received = await receiver.receive_messages(max_message_count=room, max_wait_time=wait)
            if not received and not handling:
                return  # the session is idle: release it so another identity gets a turn
            for message in received:
                if await _dead_lettered(receiver, message, WORK_QUEUE, options, stats):
                    continue
                incoming = from_sdk_message(message, WORK_QUEUE)
                key = host.order_key(incoming)
                number = message.sequence_number or 0
                task = asyncio.create_task(_after(chains.get(key), number, host, incoming, session))
                chains[key] = (task, number)
                handling[task] = message
            if handling and (not received or len(handling) >= options.batch_size):
                await asyncio.wait(handling, return_when=asyncio.FIRST_COMPLETED)
            await _settle_done(receiver, handling, stats)
    finally:
        if handling:
            await asyncio.wait(handling)
            await _settle_done(receiver, handling, stats)


async def _drain_in_batches(
    receiver: ServiceBusReceiver,
    *,
    host: MessageHandlers,
    options: WorkerOptions,
    stop: asyncio.Event,
    stats: WorkerStats,
) -> None:
    """The Functions host's way: the messages waiting, handled as one batch, settled, then the next batch."""
    while not stop.is_set():
        batch = await receiver.receive_messages(
            max_message_count=options.batch_size, max_wait_time=options.session_idle_seconds
        )
        if not batch:
            return  # the session is idle: release it so another identity gets a turn
        held = [m for m in batch if not await _dead_lettered(receiver, m, WORK_QUEUE, options, stats)]
        if not held:
            continue
        try:
            results = await host.handle_provision_batch([from_sdk_message(m, WORK_QUEUE) for m in held])
        except Exception as error:  # the host's contract: any failure abandons, and the messages come back
            results = [error] * len(held)
        for message, result in zip(held, results, strict=True):
            await _settle_result(receiver, message, result, stats)


BUSY_RECEIVE_SECONDS = 0.05  # while messages are in hand, look for more this long before settling


async def _after(
    previous: tuple[asyncio.Task[Disposition | BaseException], int] | None,
    number: int,
    host: MessageHandlers,
    message: IncomingMessage,
    session: object,
) -> Disposition | BaseException:
    """Handle `message` once the one before it (same key) is done; not at all if that one failed first.

    Messages are numbered in queue order, and an abandoned one comes back with its number: a redelivered
    earlier message waits for the task before it but does not inherit its failure, so it is handled; a later
    one that would overtake a failed earlier one is not.
    """
    if previous is not None:
        task, previous_number = previous
        earlier = await asyncio.shield(task)
        if isinstance(earlier, BaseException) and number > previous_number:
            return NotHandledError(f"not handled: an earlier event of its environment failed ({earlier})")
    try:
        (result,) = await host.handle_provision_batch([message], session)
    except Exception as error:  # the host's contract: any failure abandons, and the message comes back
        return error
    return result


async def _settle_done(
    receiver: ServiceBusReceiver,
    handling: dict[asyncio.Task[Disposition | BaseException], ServiceBusReceivedMessage],
    stats: WorkerStats,
) -> None:
    """Complete or abandon every message whose handling has finished, as its result says."""
    for task in [task for task in handling if task.done()]:
        await _settle_result(receiver, handling.pop(task), task.result(), stats)


async def _settle_result(
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
    result: Disposition | BaseException,
    stats: WorkerStats,
) -> None:
    if isinstance(result, BaseException):
        log.error("message.abandoned", queue=WORK_QUEUE, message_id=message.message_id, error=str(result))
        await receiver.abandon_message(message)
        stats.count(WORK_QUEUE, "abandoned")
    else:
        await receiver.complete_message(message)
        stats.count(WORK_QUEUE, result.outcome.value)


async def _dead_lettered(
    receiver: ServiceBusReceiver,
    message: ServiceBusReceivedMessage,
    queue: str,
    options: WorkerOptions,
    stats: WorkerStats,
) -> bool:
    """Dead-letter a message delivered more often than the queue allows; True when it was."""
    delivery_count = (message.delivery_count or 0) + 1
    if delivery_count <= options.max_delivery_count:
        return False
    await receiver.dead_letter_message(
        message,
        reason=MAX_DELIVERY_COUNT_EXCEEDED,
        error_description=f"delivered {delivery_count - 1} times without completing",
    )
    stats.count(queue, "dead-lettered")
    return True


async def _close_quietly(receiver: ServiceBusReceiver) -> None:
    """Close a receiver whose work is done; a failure to close loses nothing (locks expire on the broker)."""
    try:
        await receiver.close()
    except ServiceBusError as error:
        log.warning("receiver.close_failed", queue=WORK_QUEUE, error=str(error))


async def _settle(
    receiver: ServiceBusReceiver,
    *,
    message: ServiceBusReceivedMessage,
    queue: str,
    handler: Handler,
    options: WorkerOptions,
    stats: WorkerStats,
) -> None:
    if await _dead_lettered(receiver, message, queue, options, stats):
        return
    incoming = from_sdk_message(message, queue)
    try:
        disposition = await handler(incoming)
    except Exception as error:  # the host's contract: any failure abandons, and the message comes back
        log.exception("message.abandoned", queue=queue, message_id=incoming.message_id, error=str(error))
        await receiver.abandon_message(message)
        stats.count(queue, "abandoned")
        return
    await receiver.complete_message(message)
    stats.count(queue, disposition.outcome.value)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return
