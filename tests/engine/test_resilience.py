"""Throttling, server errors, refusals and replication delays, as the engine meets them in the sandbox."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.engine import Runtime, open_runtime, process
from shared.errors import TransientError
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, event, succeed


async def test_after_a_429_no_request_reaches_that_service_before_retry_after_ends(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    sandbox.set_faults("none", seed=7, services={"arm": {"throttle_rate": 0.25, "retry_after_seconds": 0.15}})
    await succeed(runtime, event("environment.created", environment.id))

    arm = [record for record in sandbox.requests if record.service == "arm"]
    throttled = [record for record in arm if record.status == 429]
    assert throttled
    for refusal in throttled:
        too_early = [r for r in arm if refusal.finished < r.started < refusal.finished + 0.15]
        assert too_early == []


async def test_server_errors_are_retried_until_the_event_succeeds(sandbox: Sandbox, runtime: Runtime) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    sandbox.set_faults("none", seed=3, services={"dataverse": {"error_rate": 0.5}})
    await succeed(runtime, event("environment.created", environment.id))

    assert any(r.service == "dataverse" and r.status >= 500 for r in sandbox.requests)
    assert len(sandbox.control.rows(environment.id, "managedidentities")) == 1


async def test_connection_resets_are_retried(sandbox: Sandbox, runtime: Runtime) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    sandbox.set_faults("none", seed=5, services={"arm": {"reset_rate": 0.3}})
    await succeed(runtime, event("environment.created", environment.id))
    assert any(record.error_code == "ConnectionReset" for record in sandbox.requests)
    assert len(sandbox.control.rows(environment.id, "managedidentities")) == 1


async def test_a_403_is_not_retried_and_the_report_carries_the_service_message(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales", app_users=())
    report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "failed"
    assert "dataverse" in (report.reason or "")
    assert "not a member of the organization" in (report.reason or "")
    assert len([r for r in sandbox.requests if r.status == 403]) == 1


async def test_principal_not_found_is_retried_until_replication_catches_up(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    # principalType avoids the lag as Learn documents, but a public report says it can still happen.
    sandbox.configure(principal_propagation_seconds=0.4, principal_type_skips_lookup=False)
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))

    assignments = [r for r in sandbox.requests if "roleAssignments" in r.path and r.method == "PUT"]
    assert [r.error_code for r in assignments[:-1]] == ["PrincipalNotFound"] * (len(assignments) - 1)
    assert len(assignments) >= 2
    assert assignments[-1].status == 201


async def test_a_new_identity_is_granted_its_roles_at_once_because_ppmi_names_the_principal_type(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    sandbox.configure(principal_propagation_seconds=30.0)
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))

    assignments = [r for r in sandbox.requests if "roleAssignments" in r.path and r.method == "PUT"]
    assert [r.status for r in assignments] == [201]


async def test_with_the_retry_budget_spent_the_error_says_when_to_come_back(
    sandbox: Sandbox, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    sandbox.set_faults("none", services={"environments": {"throttle_rate": 1.0, "retry_after_seconds": 30}})
    monkeypatch.setenv("PPMI_RETRY_BUDGET_SECONDS", "1")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        with pytest.raises(TransientError) as caught:
            await process(event("environment.created", environment.id), runtime)
    assert caught.value.retry_after >= 30
    assert len([r for r in sandbox.requests if r.service == "environments"]) == 1
