"""Environment readiness as the real Power Platform API reports it decides what an event does."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.engine import Runtime, environments_in_scope, process
from tests.engine.conftest import event, succeed, writes


async def test_a_live_environment_reported_as_enabled_is_provisioned(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    report = await succeed(runtime, event("environment.created", environment.id))
    assert ("identity", "created") in [(step.step, step.outcome) for step in report.steps]


@pytest.mark.parametrize("state", ["Ready", "Hibernating", ""])
async def test_other_live_state_values_do_not_hold_an_environment_back(
    sandbox: Sandbox, runtime: Runtime, state: str
) -> None:
    sandbox.configure(environment_live_state=state, environment_deleted_sentinel=None)
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))


async def test_an_environment_without_dataverse_is_rejected_with_the_reason_not_retried(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Teams", dataverse=False)
    report = await process(event("environment.created", environment.id), runtime)
    assert report.outcome == "rejected"
    assert "has no Dataverse database" in (report.reason or "")
    assert writes(sandbox) == []


async def test_the_timers_leave_out_environments_that_cannot_hold_plug_ins(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    with_dataverse = sandbox.control.create_environment(display_name="Sales").id
    provisioning = sandbox.control.create_environment(display_name="New", provisioning_seconds=600).id
    without = sandbox.control.create_environment(display_name="Teams", dataverse=False).id
    announced = {environment.id for environment in await environments_in_scope(runtime)}
    assert {with_dataverse, provisioning} <= announced
    assert without not in announced
