"""Drive events through the real path: publish to `ppmi-events`, a `ppmi worker` process, results back.

The worker is a separate process (`python -m bench.worker`: `ppmi worker`'s loop on the scaled clock), so its
CPU time and peak memory are its own; they are read from /proc (Linux) once it is ready and again at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from azure.servicebus.aio import ServiceBusClient
from azure.servicebus.exceptions import MessageLockLostError, SessionLockLostError

from bench.worker import READY
from sandbox import RequestRecord, Sandbox
from sandbox.servicebus import AsyncSandboxTokenCredential
from shared.events import Event, EventValidationError, parse_result
from shared.messaging.envelope import EVENTS_QUEUE, RESULTS_QUEUE, WORK_QUEUE
from shared.messaging.outbox import Outbox
from shared.messaging.publishing import event_message
from shared.messaging.worker import SessionHandling

PUBLISH_CHUNK = 50  # events per Service Bus batch, well under the 256 KB message-size limit
READY_LINE = READY.encode()
WARM_UP_SAMPLE_SECONDS = 0.5
WARM_CPU_SHARE = 0.3  # of one core: below it, the worker is only polling
WARM_UP_LIMIT_SECONDS = 10.0


@dataclass(frozen=True)
class WorkerFlags:
    """How the worker process runs: which host's semantics, how many instances, their concurrency."""

    time_scale: float
    handling: SessionHandling = SessionHandling.WORKER
    instances: int = 1
    sessions: int = 64
    event_receivers: int = 64
    concurrent_calls: int = 64
    calls_per_session: int = 32
    batch_size: int = 256

    def arguments(self) -> list[str]:
        return [
            "--time-scale", str(self.time_scale),
            "--handling", self.handling.value,
            "--instances", str(self.instances),
            "--sessions", str(self.sessions),
            "--event-receivers", str(self.event_receivers),
            "--concurrent-calls", str(self.concurrent_calls),
            "--calls-per-session", str(self.calls_per_session),
            "--batch-size", str(self.batch_size),
        ]  # fmt: skip

    def describe(self) -> str:
        """The host in the table's words."""
        if self.handling is SessionHandling.FUNCTIONS:
            return (
                f"Functions x {self.instances}: {self.sessions} sessions x {self.calls_per_session} calls "
                f"and {self.concurrent_calls} intake calls per instance, session locks renewed"
            )
        if self.handling is SessionHandling.BATCHES:
            return (
                f"Functions batch trigger x {self.instances}: 1 session per instance, batches of up to "
                f"{self.batch_size}, session lock never renewed"
            )
        return f"ppmi worker: {self.sessions} sessions, {self.event_receivers} event receivers"


@dataclass(frozen=True)
class Done:
    outcome: str
    reason: str
    latency_seconds: float  # from the event's publication to its result's enqueue time


@dataclass
class RunResult:
    """What one scenario produced, in wall-clock (scaled) seconds."""

    makespan_seconds: float
    done: dict[str, Done]
    missing: int
    requests: list[RequestRecord]
    worker_cpu_seconds: float
    worker_peak_rss_bytes: int
    published_at: float  # time.monotonic() when publishing began, the clock of the request log
    outcomes: Counter[str] = field(default_factory=Counter)
    redeliveries: int = 0  # deliveries of a message delivered before, on ppmi-events and ppmi-work
    lock_expiries: int = 0  # of those, locks (message or session) that ran out while a receiver held them


class WorkerProcess:
    """`ppmi worker` as a child process, with its CPU time and high-water memory from /proc."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._cpu_at_ready = 0.0

    @classmethod
    async def start(cls, env: dict[str, str], flags: WorkerFlags, log: Path) -> WorkerProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.worker",
            *flags.arguments(),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        worker = cls(process)
        await worker._wait_ready(log)
        await worker._wait_warm()
        worker._cpu_at_ready = worker.cpu_seconds()
        return worker

    async def _wait_warm(self) -> None:
        """Until the receivers are attached: the start-up burst of connections is over when CPU drops.

        A deployed worker runs warm; its start-up is not part of any event's time.
        """
        deadline = time.monotonic() + WARM_UP_LIMIT_SECONDS
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            await asyncio.sleep(WARM_UP_SAMPLE_SECONDS)
            now = self.cpu_seconds()
            if now - before < WARM_CPU_SHARE * WARM_UP_SAMPLE_SECONDS:
                return
            before = now

    async def _wait_ready(self, log: Path) -> None:
        stream = self.process.stderr
        assert stream is not None
        with log.open("ab") as sink:
            while True:
                line = await asyncio.wait_for(stream.readline(), timeout=60)
                if not line:
                    raise RuntimeError(f"ppmi worker exited before it was ready; see {log}")
                sink.write(line)
                if READY_LINE in line:
                    break
        asyncio.get_running_loop().create_task(self._drain(log))

    async def _drain(self, log: Path) -> None:
        stream = self.process.stderr
        assert stream is not None
        with log.open("ab") as sink:
            while line := await stream.readline():
                sink.write(line)

    def cpu_seconds(self) -> float:
        """User + system time of the worker so far (fields 14 and 15 of /proc/<pid>/stat)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(stat[11]) + int(stat[12])) / ticks

    def peak_rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def busy_cpu_seconds(self) -> float:
        return self.cpu_seconds() - self._cpu_at_ready

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextmanager
def servicebus_client(sandbox: Sandbox) -> Iterator[ServiceBusClient]:
    assert sandbox.servicebus is not None
    yield ServiceBusClient(
        sandbox.servicebus.fully_qualified_namespace, AsyncSandboxTokenCredential(), use_tls=False
    )


async def publish_burst(client: ServiceBusClient, events: Sequence[Event]) -> dict[str, float]:
    """Publish in order as fast as the broker takes them; returns each event's publication (wall) time."""
    published: dict[str, float] = {}
    outbox = Outbox(client)
    try:
        for start in range(0, len(events), PUBLISH_CHUNK):
            chunk = events[start : start + PUBLISH_CHUNK]
            moment = time.time()
            await outbox.send(event_message(event) for event in chunk)
            published.update((event.id, moment) for event in chunk)
    finally:
        await outbox.close()
    return published


async def collect_results(
    client: ServiceBusClient,
    reply_session: str,
    expected: set[str],
    published: dict[str, float],
    within: float,
) -> dict[str, Done]:
    """Read the reply session until every expected event has a result or `within` seconds passed."""
    done: dict[str, Done] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while expected - done.keys() and loop.time() < deadline:
        try:
            await _read_results(
                client,
                reply_session=reply_session,
                expected=expected,
                published=published,
                done=done,
                deadline=deadline,
            )
        except (SessionLockLostError, MessageLockLostError):
            continue  # held longer than the lock: take the session again (its messages come back)
    return done


async def _read_results(
    client: ServiceBusClient,
    *,
    reply_session: str,
    expected: set[str],
    published: dict[str, float],
    done: dict[str, Done],
    deadline: float,
) -> None:
    loop = asyncio.get_running_loop()
    async with client.get_queue_receiver(RESULTS_QUEUE, session_id=reply_session) as receiver:
        while expected - done.keys() and loop.time() < deadline:
            batch = await receiver.receive_messages(max_message_count=100, max_wait_time=1.0)
            for message in batch:
                await receiver.complete_message(message)
                try:
                    result = parse_result(b"".join(message.body))
                except EventValidationError:
                    continue
                event_id = result.data.event_id
                if event_id not in expected or event_id in done:
                    continue
                enqueued = message.enqueued_time_utc
                finished = enqueued.timestamp() if enqueued is not None else time.time()
                done[event_id] = Done(
                    result.data.outcome, result.data.reason or "", finished - published[event_id]
                )


async def run_events(
    sandbox: Sandbox,
    env: dict[str, str],
    events: Sequence[Event],
    *,
    reply_session: str,
    flags: WorkerFlags,
    within: float,
    log: Path,
) -> RunResult:
    """Start a worker, publish the burst, wait for every result, stop the worker; measure all of it."""
    worker = await WorkerProcess.start(env, flags, log)
    redelivered_before, expired_before = broker_counts(sandbox)
    try:
        with servicebus_client(sandbox) as client:
            async with client:
                first = time.monotonic()
                published = await publish_burst(client, events)
                expected = {event.id for event in events}
                done = await collect_results(client, reply_session, expected, published, within)
                stopped = time.time()
        cpu, peak = worker.busy_cpu_seconds(), worker.peak_rss_bytes()
    finally:
        await worker.stop()
    publication = min(published.values())
    ends = [publication + item.latency_seconds for item in done.values()]
    # complete: until the last result; cut short by the budget: until then
    makespan = max(ends) - publication if len(done) == len(events) else stopped - publication
    requests = [record for record in sandbox.requests if record.started >= first]
    redelivered_after, expired_after = broker_counts(sandbox)
    return RunResult(
        makespan_seconds=makespan,
        done=done,
        missing=len(events) - len(done),
        requests=requests,
        worker_cpu_seconds=cpu,
        worker_peak_rss_bytes=peak,
        published_at=first,
        outcomes=Counter(item.outcome for item in done.values()),
        redeliveries=redelivered_after - redelivered_before,
        lock_expiries=expired_after - expired_before,
    )


def broker_counts(sandbox: Sandbox) -> tuple[int, int]:
    """Redeliveries and lock expiries so far on the two queues the worker receives from."""
    assert sandbox.servicebus is not None
    queues = [sandbox.servicebus.queue(name) for name in (EVENTS_QUEUE, WORK_QUEUE)]
    return sum(q.redeliveries for q in queues), sum(q.lock_expiries for q in queues)
