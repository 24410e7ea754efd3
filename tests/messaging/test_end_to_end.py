"""The whole flow through the sandbox broker with the real SDK: publish → route → provision → result."""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import signal
import sys
from pathlib import Path

import pytest

from sandbox.faults import FaultProfile, ServiceFaults
from sandbox.servicebus import MessageSnapshot
from shared.engine import identity_key
from shared.events import Event, ResultEvent, new_event
from shared.messaging.envelope import ATTEMPT, EVENTS_QUEUE, KEPT_CLASS, KEPT_QUEUE, KEPT_REASON, WORK_QUEUE
from shared.messaging.hosting import MessagingHost, open_messaging_host
from shared.messaging.processing import work_session
from shared.messaging.publishing import publish, unique_reply_session, wait_for_results
from shared.messaging.requeue import requeue
from shared.policy import load_policy
from tests.messaging.conftest import Platform, worker


def package_event(
    platform: Platform, environment_id: str, reply_session: str, certificate: bytes | None = None
) -> Event:
    signer = certificate or platform.certificate
    package_id = platform.sandbox.control.register_plugin_package(environment_id, signer)
    return new_event(
        "ppmi.pluginpackage.registered",
        {
            "environmentId": environment_id,
            "pluginPackageId": package_id,
            "certificate": {"der": base64.b64encode(signer).decode()},
        },
        source="/tests",
        reply_session=reply_session,
    )


def environment_event(kind: str, environment_id: str, reply_session: str) -> Event:
    return new_event(kind, {"environmentId": environment_id}, source="/tests", reply_session=reply_session)


async def results_of(host: MessagingHost, events: list[Event], session: str) -> dict[str, ResultEvent]:
    received = await wait_for_results(
        host.client, event_ids={e.id for e in events}, reply_session=session, within=30
    )
    return {event_id: item.result for event_id, item in received.items()}


def fic_writes(platform: Platform) -> list[tuple[str, float, float]]:
    return [
        (record.path.split("/federatedIdentityCredentials/")[0], record.started, record.finished)
        for record in platform.sandbox.requests
        if record.method in ("PUT", "DELETE") and "/federatedIdentityCredentials/" in record.path
    ]


def identities(platform: Platform) -> list[dict[str, object]]:
    return list(platform.sandbox.control.dump()["identities"])


async def test_an_event_is_provisioned_once_however_often_it_is_published(platform: Platform) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Service")
    session = unique_reply_session()
    event = package_event(platform, environment.id, session)

    async with worker() as host:
        await publish(host.client, [event])
        await publish(host.client, [event])
        first = await results_of(host, [event], session)
        state_after_first = identities(platform)
        again = package_event(platform, environment.id, session)
        await publish(host.client, [again])
        second = await results_of(host, [again], session)

    assert first[event.id].data.outcome == "succeeded", first[event.id].data.reason
    assert first[event.id].data.event_id == event.id
    assert second[again.id].data.outcome == "succeeded"
    (identity,) = state_after_first
    assert len(identity["federatedIdentityCredentials"]) == 1  # type: ignore[arg-type]
    assert identities(platform) == state_after_first
    packages = platform.sandbox.control.rows(environment.id, "pluginpackages")
    assert all(package.get("_managedidentityid_value") for package in packages)
    assert platform.broker.queue(EVENTS_QUEUE).messages() == []


async def test_a_poison_message_is_kept_with_its_reason_and_requeue_redrives_it(platform: Platform) -> None:
    missing_environment = "6a0d7a55-1c2b-4e3f-8a9b-0c1d2e3f4a5b"
    session = unique_reply_session()
    event = environment_event("ppmi.environment.created", missing_environment, session)

    async with worker() as host:
        await publish(host.client, [event])
        rejected = await results_of(host, [event], session)
        assert rejected[event.id].data.outcome == "rejected"
        (kept,) = platform.broker.queue(KEPT_QUEUE).messages()
        assert kept.application_properties[KEPT_CLASS] == "rejected"
        assert kept.application_properties[KEPT_REASON]

        platform.sandbox.control.create_environment(missing_environment, display_name="Late")
        (redriven,) = await requeue(host.client, KEPT_QUEUE, message_ids=[event.id], wait_seconds=0.5)
        assert redriven.source_queue == EVENTS_QUEUE
        succeeded = await results_of(host, [event], session)

    assert succeeded[event.id].data.outcome == "succeeded"
    assert platform.broker.queue(KEPT_QUEUE).messages() == []


async def test_two_events_for_one_identity_never_write_credentials_at_once(platform: Platform) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Finance")
    other = platform.sandbox.control.create_environment(display_name="Legal")
    session = unique_reply_session()
    events = [
        package_event(platform, environment.id, session),
        package_event(platform, environment.id, session, platform.second_certificate),
        environment_event("ppmi.environment.reconcile", environment.id, session),
        package_event(platform, other.id, session, platform.second_certificate),
    ]

    # Two workers with their own engines: only the Service Bus session keeps them off one identity at once.
    async with worker() as host, worker():
        await publish(host.client, events)
        results = await results_of(host, events, session)

    assert {r.data.outcome for r in results.values()} == {"succeeded"}
    writes = fic_writes(platform)
    per_identity = {path: sorted((s, e) for p, s, e in writes if p == path) for path, _, _ in writes}
    assert max(len(spans) for spans in per_identity.values()) >= 2, "no identity got two FICs"
    for spans in per_identity.values():
        assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    assert not [r for r in platform.sandbox.requests if r.status == 409 and "Concurrent" in r.error_code]


@pytest.mark.slow
async def test_a_worker_killed_mid_message_is_redelivered_after_lock_expiry_and_converges(
    platform: Platform,
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Crash")
    set_faults(platform, FaultProfile(services={"arm": ServiceFaults(latency_ms=400)}))
    session = unique_reply_session()
    event = package_event(platform, environment.id, session)
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("ppmi")),
        "worker",
        "--sessions",
        "2",
        env={**os.environ, **platform.env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with open_messaging_host() as host:
            await publish(host.client, [event])
            deadline = asyncio.get_running_loop().time() + 30
            while not any(r.service == "arm" and r.write for r in platform.sandbox.requests):
                assert asyncio.get_running_loop().time() < deadline, "the worker never started provisioning"
                await asyncio.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(process.wait(), 10)
            assert platform.broker.queue(WORK_QUEUE).messages()  # still there, locked by the dead worker
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    set_faults(platform, FaultProfile())

    async with worker() as host:
        results = await results_of(host, [event], session)

    assert results[event.id].data.outcome == "succeeded"
    assert platform.broker.queue(WORK_QUEUE).messages() == []
    (identity,) = identities(platform)
    assert len(identity["federatedIdentityCredentials"]) == 1  # type: ignore[arg-type]


async def test_a_transient_failure_is_retried_later_on_the_same_session_and_then_succeeds(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PPMI_RETRY_BUDGET_SECONDS", "0.5")
    environment = platform.sandbox.control.create_environment(display_name="Flaky")
    session = unique_reply_session()
    event = package_event(platform, environment.id, session)
    set_faults(platform, FaultProfile(services={"arm": ServiceFaults(error_rate=1.0)}))

    async with worker() as host:
        await publish(host.client, [event])
        scheduled = await until_scheduled(platform)
        set_faults(platform, FaultProfile())
        results = await results_of(host, [event], session)

    assert scheduled.application_properties[ATTEMPT] == 2
    policy = load_policy(platform.policy)
    assert scheduled.session_id == work_session(environment.id, identity_key(environment.id, policy), policy)
    assert results[event.id].data.outcome == "succeeded"


def set_faults(platform: Platform, profile: FaultProfile) -> None:
    platform.sandbox.call_in_loop(lambda: platform.sandbox.runtime.set_faults(profile))


async def until_scheduled(platform: Platform) -> MessageSnapshot:
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        waiting = [m for m in platform.broker.queue(WORK_QUEUE).messages() if m.scheduled_enqueue_time]
        if waiting:
            return waiting[0]
        assert asyncio.get_running_loop().time() < deadline, "no retry was scheduled"
        await asyncio.sleep(0.05)
