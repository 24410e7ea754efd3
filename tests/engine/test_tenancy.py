"""One tenant: an environment or identity of another tenant is refused before any FIC could trust it."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import open_runtime, process
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, event, writes

OTHER_TENANT = "0b4c7f9e-1d2a-4e3b-8c5d-6f7a8b9c0d1e"


async def test_an_environment_of_another_tenant_is_rejected_before_anything_is_written(
    sandbox: Sandbox, policy: Policy
) -> None:
    sandbox.configure(environment_tenant_id=OTHER_TENANT)
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "rejected"
    assert f"belongs to tenant {OTHER_TENANT}" in (report.reason or "")
    assert writes(sandbox) == []


async def test_an_identity_of_another_tenant_gets_no_federated_credential(
    sandbox: Sandbox, policy: Policy
) -> None:
    # The policy and the environment say one tenant; ARM reports the identity in the sandbox's own.
    sandbox.configure(environment_tenant_id=OTHER_TENANT)
    elsewhere = policy.model_copy(update={"tenant_id": OTHER_TENANT})
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), elsewhere, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "failed"
    assert f"tenantId is {OTHER_TENANT}: no FIC is written on it" in (report.reason or "")
    assert not [write for write in writes(sandbox) if "federatedIdentityCredentials" in write]
    assert sandbox.control.rows(environment.id, "managedidentities") == []
