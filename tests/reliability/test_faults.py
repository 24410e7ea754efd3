"""Nothing lost, nothing duplicated: the platform under chaos, duplicates, reordering and killed workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from sandbox.servicebus import ServiceBusBroker
from shared.policy import Policy
from tests.reliability.conftest import Signers
from tests.reliability.faulty_run import RunOptions, RunSetup, run_queues, run_under_faults


@pytest.fixture
def broker() -> Iterator[ServiceBusBroker]:
    with ServiceBusBroker(queues=run_queues(lock_seconds=3.0)) as running:
        yield running


async def test_every_event_is_accounted_for_under_chaos_and_three_worker_kills(
    *,
    sandbox: Sandbox,
    broker: ServiceBusBroker,
    policy: Policy,
    policy_file: Path,
    signers: Signers,
    tmp_path: Path,
) -> None:
    setup = RunSetup(sandbox, broker, policy, policy_file, signers.trusted, signers.untrusted, tmp_path)

    report = await run_under_faults(setup, RunOptions(retry_after_seconds=0.2))
    print(report.summary())

    assert report.missing == [], report.summary()
    assert report.unexplained == [], report.summary()
    assert report.violations == [], report.summary()
    assert (report.kept, report.dead_lettered) == (0, 0), report.summary()  # second deliveries succeeded too
    assert report.kills == 3
    assert report.events == 5 * 3 + 2
    assert report.deliveries > report.events  # some events really were delivered twice
    assert report.failed_requests, "the chaos profile injected no fault"
