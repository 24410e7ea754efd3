"""One run of the whole platform under faults: `ppmi worker`, killed mid-run, against a chaotic sandbox.

Shared by the default test (a couple of dozen events) and `make soak` (hundreds). A run publishes, for every
environment, its package registrations *before* its `created` event (reordering), publishes some events twice
under a second message ID (duplicate delivery), kills the worker `kills` times while it writes to Azure, then
tears some environments down. At the end it accounts for every event, counts what the sandbox saw, and checks
the invariants with the faults switched off.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from azure.servicebus.aio import ServiceBusClient

from sandbox.server import Sandbox
from sandbox.servicebus import AsyncSandboxTokenCredential, QueueOptions, ServiceBusBroker
from shared.events import Event, new_event
from shared.messaging.envelope import EVENTS_QUEUE, KEPT_QUEUE, KEPT_REASON, RESULTS_QUEUE, WORK_QUEUE
from shared.messaging.outbox import Outbox
from shared.messaging.publishing import (
    ReceivedResult,
    event_message,
    publish,
    unique_reply_session,
    wait_for_results,
)
from shared.policy import Policy
from tests.reliability.foreign import seed_foreign
from tests.reliability.invariants import Baseline, Component, Expectation, check_invariants

RESULT_TURN_SECONDS = 15.0  # below the results queue's 30 s session lock


def run_queues(lock_seconds: float) -> dict[str, QueueOptions]:
    """ppmi's queues; short locks bring a killed worker's messages back quickly."""
    return {
        EVENTS_QUEUE: QueueOptions(duplicate_detection_window=600.0, lock_duration=lock_seconds),
        WORK_QUEUE: QueueOptions(
            requires_session=True, duplicate_detection_window=600.0, lock_duration=lock_seconds
        ),
        RESULTS_QUEUE: QueueOptions(requires_session=True),
        KEPT_QUEUE: QueueOptions(duplicate_detection_window=600.0, max_delivery_count=100),
    }


FAULTED_SERVICES = ("arm", "graph", "dataverse", "environments", "bap")
COUNTED_STATUSES = {
    429: "429 throttled",
    409: "409 conflict",
    499: "connection reset",
    500: "500",
    503: "503",
}


@dataclass(frozen=True)
class RunOptions:
    environments: int = 5
    packages_per_environment: int = 2
    torn_down: int = 2
    duplicate_every: int = 3  # every n-th event is delivered twice
    kills: int = 3
    faults: str = "chaos"
    retry_after_seconds: float = 1.0  # what throttled replies ask for; below 1 s only to keep tests short
    seed: int = 1
    within_seconds: float = 35.0


@dataclass(frozen=True)
class RunSetup:
    """What a run needs from its caller: the running sandbox and broker, the policy, two signers."""

    sandbox: Sandbox
    broker: ServiceBusBroker
    policy: Policy
    policy_file: Path
    trusted: bytes
    untrusted: bytes
    workdir: Path


@dataclass
class RunReport:
    events: int = 0
    deliveries: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    missing: list[str] = field(default_factory=list)  # event IDs without a result
    unexplained: list[str] = field(default_factory=list)  # not succeeded, and not kept with a reason
    kept: int = 0
    kept_reasons: Counter[str] = field(default_factory=Counter)
    dead_lettered: int = 0
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    failed_requests: Counter[str] = field(default_factory=Counter)
    kills: int = 0
    violations: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> str:
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items())) or "none"
        faults = ", ".join(f"{name} {count}" for name, count in sorted(self.failed_requests.items()))
        lines = [
            f"events      {self.events} ({self.deliveries} deliveries, worker killed {self.kills} times)",
            f"outcomes    {outcomes}; without a result: {len(self.missing)}",
            f"retried     {sum(self.failed_requests.values())} failed requests ({faults or 'none'})",
            f"kept        {self.kept} in {KEPT_QUEUE}, {self.dead_lettered} dead-lettered, "
            f"{len(self.unexplained)} unexplained",
            *(f"  - {count} x {reason}" for reason, count in self.kept_reasons.most_common()),
            *(f"  - dead-lettered {n} x {reason}" for reason, n in self.dead_letter_reasons.most_common()),
            f"violations  {len(self.violations)}",
            *(f"  - {violation}" for violation in self.violations),
            f"elapsed     {self.elapsed:.1f}s",
        ]
        return "\n".join(lines)


def _process_environment(setup: RunSetup) -> dict[str, str]:
    """What `ppmi worker` and this process need to reach the sandbox, the broker and the policy."""
    env = {
        **setup.sandbox.env,
        "ServiceBusConnection__fullyQualifiedNamespace": setup.broker.fully_qualified_namespace,
        "PPMI_SERVICEBUS_TLS": "false",
        "PPMI_POLICY_FILE": str(setup.policy_file),
        "PPMI_RETRY_BASE_SECONDS": "1",
    }
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)
    return env


@dataclass
class _World:
    expectation: Expectation
    baseline: Baseline
    provisioning: list[Event]
    tear_down: list[Event]


def _build_world(setup: RunSetup, options: RunOptions, session: str) -> _World:
    control = setup.sandbox.control
    expectation = Expectation(setup.policy)
    certificate = {"der": base64.b64encode(setup.trusted).decode("ascii")}
    environments = [control.create_environment(display_name=f"Run {n}") for n in range(options.environments)]
    packages: list[Event] = []
    created: list[Event] = []
    for environment in environments:
        planned = expectation.provisioned(environment.id)
        for n in range(options.packages_per_environment):
            package = control.register_plugin_package(environment.id, setup.trusted, name=f"Package {n}")
            planned.components.append(Component("pluginpackages", package, setup.trusted))
            data = {"environmentId": environment.id, "pluginPackageId": package, "certificate": certificate}
            packages.append(_event("ppmi.pluginpackage.registered", data, session))
        created.append(_event("ppmi.environment.created", {"environmentId": environment.id}, session))
    seed_foreign(
        setup.sandbox,
        setup.policy,
        [e.id for e in environments[:2]],
        untrusted_certificate=setup.untrusted,
        role_assignment_ids=[str(uuid.uuid4()) for _ in range(8)],
    )
    baseline = Baseline.capture(control.dump())
    tear_down = [
        _event("ppmi.environment.deleted", {"environmentId": e.id}, session)
        for e in environments[len(environments) - options.torn_down :]
    ]
    return _World(expectation, baseline, packages + created, tear_down)


def _event(event_type: str, data: Mapping[str, object], session: str) -> Event:
    return new_event(event_type, data, source="/tests/reliability", reply_session=session)


async def _deliver(client: ServiceBusClient, events: list[Event], duplicate_every: int) -> int:
    """Publish each event; every n-th once more under another message ID (an at-least-once publisher)."""
    await publish(client, events)
    again = [event for index, event in enumerate(events) if duplicate_every and index % duplicate_every == 0]
    outbox = Outbox(client)
    try:
        await outbox.send(replace(event_message(event), message_id=f"{event.id}~again") for event in again)
    finally:
        await outbox.close()
    return len(events) + len(again)


class _Workers:
    """`ppmi worker` as a subprocess that can be killed and started again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env = {**os.environ, **env}
        self._log = log
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        ppmi = str(Path(sys.executable).with_name("ppmi"))
        with self._log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                ppmi,
                "worker",
                "--sessions",
                "4",
                "--event-receivers",
                "2",
                env=self._env,
                stdout=log,
                stderr=log,
            )

    async def kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), 20)
            except TimeoutError:
                await self.kill()


async def _kill_while_writing(workers: _Workers, sandbox: Sandbox, kills: int, within: float) -> int:
    """Start the worker; each time it has made two more Azure writes, kill it and start it again."""
    killed = 0
    await workers.start()
    for _ in range(kills):
        seen = _writes(sandbox)
        deadline = time.monotonic() + within
        while _writes(sandbox) < seen + 2 and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a log
            await asyncio.sleep(0.05)
        await workers.kill()
        killed += 1
        await workers.start()
    return killed


async def _collect_results(
    client: ServiceBusClient, event_ids: set[str], session: str, within: float
) -> dict[str, ReceivedResult]:
    """Results read in short turns: each turn takes a fresh session lock, so long runs never lose it."""
    results: dict[str, ReceivedResult] = {}
    deadline = time.monotonic() + within
    while event_ids - results.keys() and time.monotonic() < deadline:
        turn = min(RESULT_TURN_SECONDS, deadline - time.monotonic())
        results |= await wait_for_results(
            client, event_ids=event_ids - results.keys(), reply_session=session, within=turn
        )
    return results


async def _drained(broker: ServiceBusBroker, within: float) -> None:
    """Wait until nothing is waiting, locked or scheduled on the events and work queues."""
    deadline = time.monotonic() + within
    queues = [broker.queue(name) for name in (EVENTS_QUEUE, WORK_QUEUE)]
    while any(q.active_count or q.scheduled_count for q in queues) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


def _writes(sandbox: Sandbox) -> int:
    return sum(1 for r in sandbox.requests if r.write and r.service in ("arm", "dataverse"))


async def run_under_faults(setup: RunSetup, options: RunOptions) -> RunReport:
    """Run, account for every event, and check the invariants; the report says what happened."""
    started = time.monotonic()
    report = RunReport()
    session = unique_reply_session()
    world = _build_world(setup, options, session)
    env = _process_environment(setup)
    workers = _Workers(env, setup.workdir / "worker.log")
    throttling = {"retry_after_seconds": options.retry_after_seconds}
    setup.sandbox.set_faults(
        options.faults, seed=options.seed, services={name: throttling for name in FAULTED_SERVICES}
    )
    client = ServiceBusClient(
        setup.broker.fully_qualified_namespace, AsyncSandboxTokenCredential(), use_tls=False
    )
    try:
        async with client:
            for phase in (world.provisioning, world.tear_down):
                if phase is world.tear_down:
                    await _drained(setup.broker, options.within_seconds)  # second deliveries too
                    setup.sandbox.control.delete_environment(phase[0].data.environment_id)
                waiting = asyncio.create_task(
                    _collect_results(client, {e.id for e in phase}, session, options.within_seconds)
                )
                report.deliveries += await _deliver(client, phase, options.duplicate_every)
                if phase is world.provisioning:
                    report.kills = await _kill_while_writing(workers, setup.sandbox, options.kills, 10.0)
                results = await waiting
                report.events += len(phase)
                for event in phase:
                    received = results.get(event.id)
                    if received is None:
                        report.missing.append(event.id)
                    else:
                        report.outcomes[received.result.data.outcome] += 1
                        if received.result.data.outcome != "succeeded":
                            report.unexplained.append(event.id)
    finally:
        await workers.stop()
        setup.sandbox.set_faults("none")
    _account(setup, world, report)
    report.elapsed = time.monotonic() - started
    return report


def _account(setup: RunSetup, world: _World, report: RunReport) -> None:
    """Kept messages explain failures; the request log gives the faults; the state gives the violations."""
    kept = setup.broker.queue(KEPT_QUEUE).messages()
    report.kept = len(kept)
    report.kept_reasons.update(str(m.application_properties.get(KEPT_REASON))[:160] for m in kept)
    explained = {json.loads(m.body).get("id") for m in kept if m.application_properties.get(KEPT_REASON)}
    report.unexplained = [event_id for event_id in report.unexplained if event_id not in explained]
    dead = [m for q in (EVENTS_QUEUE, WORK_QUEUE) for m in setup.broker.queue(q).dead_letters()]
    report.dead_lettered = len(dead)
    report.dead_letter_reasons.update(
        f"{m.dead_letter_reason}: {m.dead_letter_description}"[:200] for m in dead
    )
    for record in setup.sandbox.requests:
        label = COUNTED_STATUSES.get(record.status)
        if label is not None:
            report.failed_requests[label] += 1
    for event in world.tear_down:
        world.expectation.provisioned(event.data.environment_id).deleted = True
    report.violations = check_invariants(world.baseline, world.expectation, setup.sandbox.control.dump())
