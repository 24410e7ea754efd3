"""The scenarios and the naive baseline, each in a fresh sandbox, measured in one run."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.baseline import run_baseline
from bench.harness import RunResult, WorkerFlags, run_events
from bench.measure import conflict_failures, percentile, request_figures
from bench.model import Strategy, Workload, lower_bound
from bench.profile import AzureModel, BenchPolicy, write_policy
from bench.workload import BenchEnvironment, create_environments, creation_events, reconcile_events
from sandbox import Sandbox
from shared.cli.demo import signing_certificate
from shared.events import Event
from shared.messaging.config import MessagingSettings
from shared.messaging.publishing import unique_reply_session

MI_WRITE_PATH = "Microsoft.ManagedIdentity/userAssignedIdentities"


@dataclass(frozen=True)
class BenchSettings:
    """What a run covers; wall-clock budgets are per scenario, so a slow product cannot stall the run."""

    model: AzureModel
    environments: int = 200
    packages: int = 3
    baseline_environments: int = 10
    flags_sessions: int = 64
    flags_event_receivers: int = 64
    instance_counts: tuple[int, ...] = (1, 4, 16)  # the Functions path at these scale-outs
    budgets: tuple[tuple[str, float], ...] = (
        ("1", 120.0),
        ("2", 60.0),
        ("3", 60.0),
        ("4", 120.0),
        ("1f", 150.0),
        ("2f", 90.0),
        ("1b", 150.0),
        ("2b", 90.0),
    )

    def budget(self, key: str) -> float:
        """Wall-clock seconds for a scenario; the Functions rows share their scenario's (`1f4` → `1f`)."""
        budgets = dict(self.budgets)
        return budgets[key] if key in budgets else budgets[key.rstrip("0123456789")]

    @property
    def flags(self) -> WorkerFlags:
        """`ppmi worker` with its own semantics: the worker rows."""
        sessions, receivers = self.flags_sessions, self.flags_event_receivers
        return WorkerFlags(
            self.model.time_scale, sessions=sessions, event_receivers=receivers, concurrent_calls=receivers
        )


@dataclass
class Bench:
    """One sandbox with its tenant, and the environment a worker process gets."""

    sandbox: Sandbox
    certificate: bytes
    workdir: Path
    env: dict[str, str]
    environments: list[BenchEnvironment]


def open_bench(settings: BenchSettings, strategy: Strategy, *, chaos: bool, count: int) -> Bench:
    model = settings.model
    sandbox = Sandbox(model.sandbox_config(chaos=chaos), servicebus_queues=model.servicebus_queues()).start()
    certificate = signing_certificate("Contoso Plug-ins (bench)")
    workdir = Path(tempfile.mkdtemp(prefix=f"ppmi-bench-{strategy}-"))
    policy = write_policy(workdir, sandbox.env, certificate, BenchPolicy(strategy), model)
    scale = model.time_scale
    env = {
        **os.environ,
        **sandbox.env,
        "PPMI_POLICY_FILE": str(policy),
        # the product's own waits, in model seconds like everything else
        "PPMI_RETRY_BASE_SECONDS": str(30.0 / scale),
        "PPMI_RETRY_MAX_SECONDS": str(3600.0 / scale),
        "PPMI_RETRY_BUDGET_SECONDS": str(60.0 / scale),
        "PPMI_HTTP_TIMEOUT_SECONDS": str(30.0 / scale),
        # host.json's session timings, from which the app tells a session's holds apart
        "PPMI_SESSION_IDLE_SECONDS": str(MessagingSettings.session_idle_seconds / scale),
        "PPMI_SESSION_LOCK_RENEWAL_SECONDS": str(MessagingSettings.session_lock_renewal_seconds / scale),
    }
    env.pop("APPLICATIONINSIGHTS_CONNECTION_STRING", None)  # measure provisioning, not telemetry export
    environments = create_environments(sandbox, count, settings.packages, certificate)
    return Bench(sandbox, certificate, workdir, env, environments)


async def measure(
    bench: Bench,
    settings: BenchSettings,
    *,
    key: str,
    title: str,
    events: list[Event],
    reply_session: str,
    workload: Workload,
    flags: WorkerFlags | None = None,
) -> dict[str, Any]:
    """Run `events` through a worker (`ppmi worker` unless `flags` say otherwise) against the lower bound."""
    model = settings.model
    flags = flags or settings.flags
    cpu_before = time.process_time()
    run = await run_events(
        bench.sandbox,
        bench.env,
        events,
        reply_session=reply_session,
        flags=flags,
        within=settings.budget(key),
        log=bench.workdir / f"worker-{key}.log",
    )
    harness_cpu = time.process_time() - cpu_before
    return describe(run, key=key, title=title, events=len(events), workload=workload, model=model) | {
        "host": flags.describe(),
        "instances": flags.instances,
        "harness_cpu_seconds": round(harness_cpu, 2),
        # the machine's 1-minute load at the end: above the bench's own ~1.5, others shared the cores
        "load_average_1min": round(os.getloadavg()[0], 2),
        "budget_seconds": settings.budget(key),
    }


def describe(
    run: RunResult, *, key: str, title: str, events: int, workload: Workload, model: AzureModel
) -> dict[str, Any]:
    scale = model.time_scale
    bound = lower_bound(workload, model)
    figures = request_figures(run.requests)
    complete = run.missing == 0
    makespan = run.makespan_seconds * scale
    projected = makespan if complete else makespan * events / max(1, len(run.done))
    latencies = [item.latency_seconds * scale for item in run.done.values()]
    writing = write_window(run, scale)
    return {
        "key": key,
        "title": title,
        "strategy": workload.strategy,
        "events": events,
        "environments": workload.environments,
        "done": len(run.done),
        "complete": complete,
        "outcomes": dict(run.outcomes),
        "makespan_seconds": round(makespan, 1),
        "projected_makespan_seconds": round(projected, 1),
        "lower_bound": bound.to_json(),
        "makespan_over_lower_bound": round(projected / bound.seconds, 2) if bound.seconds else None,
        "latency_p50_seconds": round(percentile(latencies, 0.50), 1),
        "latency_p95_seconds": round(percentile(latencies, 0.95), 1),
        "requests": figures.total,
        "requests_per_event": round(figures.total / max(1, len(run.done)), 2),
        "calls_per_event_by_kind": {
            kind: round(count / max(1, len(run.done)), 2) for kind, count in figures.by_kind.items()
        },
        "writes": figures.writes,
        **writing,
        "answered_429": figures.throttled,
        "answered_429_share": round(figures.throttled_share, 4),
        "answered_429_by_kind": figures.throttled_by_kind,
        "answered_409": figures.conflicts,
        "redelivered": run.redeliveries,
        "lock_expiries": run.lock_expiries,
        "failed_on_409": conflict_failures(
            item.reason for item in run.done.values() if item.outcome != "succeeded"
        ),
        "worker_cpu_seconds": round(run.worker_cpu_seconds, 2),
        "worker_peak_rss_mb": round(run.worker_peak_rss_bytes / 2**20, 1),
    }


def write_window(run: RunResult, scale: float) -> dict[str, float]:
    """When managed identity writes began and ended (model seconds after publication), and their rate then."""
    moments = sorted(
        record.started - run.published_at
        for record in run.requests
        if record.write and MI_WRITE_PATH in record.path and record.status < 400
    )
    if not moments:
        return {"first_identity_write_seconds": 0.0, "identity_writes_per_second_while_writing": 0.0}
    span = moments[-1] - moments[0]
    return {
        "first_identity_write_seconds": round(moments[0] * scale, 1),
        "last_identity_write_seconds": round(moments[-1] * scale, 1),
        "identity_writes": len(moments),
        "identity_writes_per_second_while_writing": round(len(moments) / (span * scale), 3) if span else 0.0,
    }


async def per_environment_and_reconcile(settings: BenchSettings) -> list[dict[str, Any]]:
    """Scenario 1, then scenario 3 on the state it left."""
    bench = open_bench(settings, "per-environment", chaos=False, count=settings.environments)
    try:
        workload = Workload(settings.environments, settings.packages)
        session = unique_reply_session()
        first = await measure(
            bench,
            settings,
            key="1",
            title="burst, per-environment",
            events=creation_events(bench.environments, bench.certificate, session),
            reply_session=session,
            workload=workload,
        )
        session = unique_reply_session()
        third = await measure(
            bench,
            settings,
            key="3",
            title="no-op reconcile",
            events=reconcile_events(bench.environments, session),
            reply_session=session,
            workload=Workload(settings.environments, settings.packages, reconcile=True),
        )
    finally:
        bench.sandbox.stop()
    return [first, third]


async def creation_burst(
    settings: BenchSettings, strategy: Strategy, *, key: str, title: str, flags: WorkerFlags | None = None
) -> dict[str, Any]:
    """Scenario 1 (`per-environment`) or 2 (`shared-pool`) on a fresh sandbox, through `flags`' host."""
    bench = open_bench(settings, strategy, chaos=False, count=settings.environments)
    try:
        session = unique_reply_session()
        return await measure(
            bench,
            settings,
            key=key,
            title=title,
            events=creation_events(bench.environments, bench.certificate, session),
            reply_session=session,
            workload=Workload(settings.environments, settings.packages, strategy=strategy),
            flags=flags,
        )
    finally:
        bench.sandbox.stop()


async def shared_pool(settings: BenchSettings) -> dict[str, Any]:
    """Scenario 2 through `ppmi worker`."""
    return await creation_burst(settings, "shared-pool", key="2", title="burst, shared-pool")


async def chaos(settings: BenchSettings) -> dict[str, Any]:
    bench = open_bench(settings, "per-environment", chaos=True, count=settings.environments)
    try:
        session = unique_reply_session()
        return await measure(
            bench,
            settings,
            key="4",
            title="burst, per-environment, chaos",
            events=creation_events(bench.environments, bench.certificate, session),
            reply_session=session,
            workload=Workload(settings.environments, settings.packages),
        )
    finally:
        bench.sandbox.stop()


async def naive_baseline(settings: BenchSettings) -> dict[str, Any]:
    """The manual procedure on the first environments; sequential, so its time grows linearly with them."""
    count = settings.baseline_environments
    bench = open_bench(settings, "per-environment", chaos=False, count=count)
    try:
        run = await run_baseline(bench.sandbox, bench.environments, bench.certificate, settings.model)
        figures = request_figures(bench.sandbox.requests)
    finally:
        bench.sandbox.stop()
    measured = run.seconds * settings.model.time_scale
    projected = measured * settings.environments / count
    return {
        "environments_measured": count,
        "measured_seconds": round(measured, 1),
        "seconds_per_environment": round(measured / count, 2),
        "projected_makespan_seconds": round(projected, 1),
        "lower_bound": lower_bound(
            Workload(settings.environments, settings.packages), settings.model
        ).to_json(),
        "requests": figures.total,
        "answered_429": figures.throttled,
        "answered_429_share": round(figures.throttled_share, 4),
    }
