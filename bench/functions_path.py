"""Scenarios 1 and 2 as the deployed Functions app would run them: the host's semantics, scaled out.

`python -m bench.worker --handling functions --instances N` is N copies of the app's host in one process,
each with its own view of ARM and its own pacing (as N Functions instances have), working `ppmi-work` as the
single-message session trigger does with host.json's concurrency: `maxConcurrentSessions` sessions and
`maxConcurrentCallsPerSession` messages of each per instance, `maxConcurrentCalls` intake events, session
locks renewed. `--handling batches` is the batch trigger the app had before (rows `1b`, `2b`): one session at
a time per instance, a batch of up to 256 waiting messages per call, the session lock never renewed. The
queues have the deployed one-minute lock, so a lock that runs out shows as `lock expired` and `redelivered`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.harness import WorkerFlags
from bench.model import Strategy
from bench.scenarios import BenchSettings, creation_burst
from shared.messaging.worker import SessionHandling

HOST_JSON = Path(__file__).resolve().parent.parent / "host.json"
BATCH_TRIGGER_SIZE = 256  # the batch trigger's maxMessageBatchSize, as host.json had it
SCENARIOS: tuple[tuple[str, Strategy], ...] = (("1", "per-environment"), ("2", "shared-pool"))


@dataclass(frozen=True)
class FunctionsHost:
    """The deployed triggers' concurrency per instance, as host.json sets it."""

    sessions: int
    calls_per_session: int
    concurrent_calls: int

    @classmethod
    def from_host_json(cls, path: Path = HOST_JSON) -> FunctionsHost:
        service_bus = json.loads(path.read_text(encoding="utf-8"))["extensions"]["serviceBus"]
        return cls(
            sessions=service_bus["maxConcurrentSessions"],
            calls_per_session=service_bus["maxConcurrentCallsPerSession"],
            concurrent_calls=service_bus["maxConcurrentCalls"],
        )

    def flags(self, time_scale: float, instances: int, handling: SessionHandling) -> WorkerFlags:
        """One event receiver per instance with `maxConcurrentCalls` in hand, like the host's processor."""
        return WorkerFlags(
            time_scale,
            handling=handling,
            instances=instances,
            sessions=self.sessions,
            event_receivers=1,
            concurrent_calls=self.concurrent_calls,
            calls_per_session=self.calls_per_session,
            batch_size=BATCH_TRIGGER_SIZE,
        )


async def functions_scenarios(settings: BenchSettings) -> list[dict[str, Any]]:
    """Scenarios 1 and 2 through the deployed trigger at each instance count, then through the batch trigger
    at 4 instances (the target's count), each on a fresh sandbox."""
    host = FunctionsHost.from_host_json()
    scale = settings.model.time_scale
    results = []
    for number, strategy in SCENARIOS:
        for instances in settings.instance_counts:
            results.append(
                await creation_burst(
                    settings,
                    strategy,
                    key=f"{number}f{instances}",
                    title=f"burst, {strategy}, Functions x {instances}",
                    flags=host.flags(scale, instances, SessionHandling.FUNCTIONS),
                )
            )
    for number, strategy in SCENARIOS:
        results.append(
            await creation_burst(
                settings,
                strategy,
                key=f"{number}b",
                title=f"burst, {strategy}, Functions batch trigger x 4",
                flags=host.flags(scale, 4, SessionHandling.BATCHES),
            )
        )
    return results
