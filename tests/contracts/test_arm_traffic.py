"""Real product traffic against the sandbox, judged by Microsoft's specs: every ARM request ppmi sends and
every reply the ARM stand-in returns, successes and refusals alike, as the engine provisions, re-binds,
reconciles and tears down for each identity strategy."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from sandbox.server import Sandbox
from sandbox.state import Exchange
from shared.engine import Runtime, open_runtime, process
from shared.policy import Policy
from shared.settings import Settings
from tests.contracts.openapi import OpenApi
from tests.engine.conftest import (
    FAST_BACKOFF,
    PolicyWriter,
    certificate_reference,
    event,
    policy,
    runtime,
    signers,
    succeed,
    write_policy,
)

__all__ = ["policy", "runtime", "signers", "write_policy"]
# Resource groups themselves: the sandbox serves them for set-up; ppmi never calls them; no spec has them.
RESOURCE_GROUP = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+$", re.IGNORECASE)


@pytest.fixture
def recording(sandbox: Sandbox) -> Sandbox:
    sandbox.configure(record_exchanges=True)
    return sandbox


def _arm_exchanges(sandbox: Sandbox) -> list[Exchange]:
    return sandbox.call_in_loop(lambda: [e for e in sandbox.state.exchanges if e.service == "arm"])


def _problems(exchanges: list[Exchange], specs: tuple[OpenApi, ...]) -> list[str]:
    problems = []
    for exchange in exchanges:
        where = f"{exchange.method} {exchange.url} -> {exchange.status}"
        operation = next((op for s in specs if (op := s.operation(exchange.method, exchange.url))), None)
        if operation is None:
            problems.append(f"{where}: no operation in contracts/ specs")
            continue
        request = json.loads(exchange.request_body) if exchange.request_body else None
        reply = json.loads(exchange.response_body) if exchange.response_body else None
        problems += [
            f"{where}: request {p}"
            for p in operation.request_problems(exchange.url, request, exchange.request_headers)
        ]
        problems += [f"{where}: reply {p}" for p in operation.response_problems(exchange.status, reply)]
    return problems


async def _provision_and_tear_down(sandbox: Sandbox, runtime: Runtime, signer: bytes) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signer, name="Contoso.Package")
    await succeed(runtime, event("environment.created", environment.id))
    registered = event(
        "pluginpackage.registered",
        environment.id,
        pluginPackageId=package,
        certificate=certificate_reference(signer),
    )
    await succeed(runtime, registered)
    await succeed(runtime, event("environment.reconcile", environment.id))
    await succeed(runtime, event("environment.deleted", environment.id))


@pytest.mark.parametrize(
    "strategy",
    ["strategy: per-environment", "strategy: shared-pool\npoolName: pool\nshardCapacity: 10\nheadroom: 2"],
    ids=["per-environment", "shared-pool"],
)
async def test_every_arm_request_and_reply_of_a_whole_lifecycle_fits_the_specs(
    recording: Sandbox,
    write_policy: PolicyWriter,
    signers: list[bytes],
    arm_specs: tuple[OpenApi, ...],
    strategy: str,
) -> None:
    policy = write_policy(identity=strategy)
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as opened:
        await _provision_and_tear_down(recording, opened, signers[0])

    exchanges = [e for e in _arm_exchanges(recording) if not RESOURCE_GROUP.match(urlsplit(e.url).path)]
    assert {e.method for e in exchanges} == {"GET", "PUT", "DELETE"}
    assert _problems(exchanges, arm_specs) == []


async def test_the_arm_refusals_ppmi_meets_are_in_arms_error_shape(
    recording: Sandbox, runtime: Runtime, policy: Policy, arm_specs: tuple[OpenApi, ...]
) -> None:
    recording.configure(
        principal_propagation_seconds=0.2,
        principal_type_skips_lookup=False,
        fic_write_hold_seconds=0.2,
        arm_access={"enforced": True, "identity_resource_groups": ["rg-ppmi"], "grant_scopes": []},
    )
    environment = recording.control.create_environment(display_name="Sales")
    await process(event("environment.created", environment.id), runtime)

    exchanges = _arm_exchanges(recording)
    assert {e.status for e in exchanges} >= {403}
    assert _problems(exchanges, arm_specs) == []
