"""Tear-down removes what ppmi made for an environment and nothing else, however much else looks like it."""

from __future__ import annotations

import base64

from sandbox.server import Sandbox
from shared.engine import Runtime
from shared.messaging import Outcome
from shared.policy import Policy
from tests.reliability.conftest import Signers, foreign_around
from tests.reliability.invariants import Baseline, Component, Expectation, check_invariants
from tests.reliability.processing import event_body, through_processor


async def provision(runtime: Runtime, sandbox: Sandbox, signers: Signers, environment_id: str) -> Component:
    package = sandbox.control.register_plugin_package(environment_id, signers.trusted)
    created = event_body("ppmi.environment.created", {"environmentId": environment_id}, f"c-{environment_id}")
    registered = event_body(
        "ppmi.pluginpackage.registered",
        {
            "environmentId": environment_id,
            "pluginPackageId": package,
            "certificate": {"der": base64.b64encode(signers.trusted).decode()},
        },
        f"p-{environment_id}",
    )
    for body in (created, registered):
        disposition = await through_processor(runtime, body)
        assert disposition.outcome is Outcome.SUCCEEDED, disposition.reason
    return Component("pluginpackages", package, signers.trusted)


async def tear_down(runtime: Runtime, environment_id: str) -> None:
    body = event_body("ppmi.environment.deleted", {"environmentId": environment_id}, f"d-{environment_id}")
    disposition = await through_processor(runtime, body)
    assert disposition.outcome is Outcome.SUCCEEDED, disposition.reason


async def test_tear_down_leaves_every_look_alike_untouched(
    runtime: Runtime, sandbox: Sandbox, policy: Policy, signers: Signers
) -> None:
    still_there = sandbox.control.create_environment(display_name="Retired")
    gone = sandbox.control.create_environment(display_name="Deleted")
    foreign_around(sandbox, policy, signers, [still_there.id, gone.id])
    baseline = Baseline.capture(sandbox.control.dump())
    expectation = Expectation(policy)
    for environment in (still_there, gone):
        expectation.provisioned(environment.id).components.append(
            await provision(runtime, sandbox, signers, environment.id)
        )
    assert check_invariants(baseline, expectation, sandbox.control.dump()) == []

    sandbox.control.delete_environment(gone.id)
    for environment in (still_there, gone):
        await tear_down(runtime, environment.id)
        expectation.provisioned(environment.id).deleted = True

    assert check_invariants(baseline, expectation, sandbox.control.dump()) == []


async def test_tear_down_of_an_environment_ppmi_never_served_deletes_nothing(
    runtime: Runtime, sandbox: Sandbox, policy: Policy, signers: Signers
) -> None:
    """The identity there carries exactly ppmi's name and environment tag, but not its ownership mark."""
    bystander = sandbox.control.create_environment(display_name="Someone else's")
    foreign_around(sandbox, policy, signers, [bystander.id], same_name=(bystander.id,))
    baseline = Baseline.capture(sandbox.control.dump())
    seeding = len(sandbox.requests)

    await tear_down(runtime, bystander.id)

    assert check_invariants(baseline, Expectation(policy), sandbox.control.dump()) == []
    assert [f"{r.method} {r.path}" for r in sandbox.requests[seeding:] if r.write] == []


async def test_an_identity_under_ppmis_name_but_not_its_own_is_neither_adopted_nor_deleted(
    runtime: Runtime, sandbox: Sandbox, policy: Policy, signers: Signers
) -> None:
    """Someone made `ppmi-{environmentId}` by hand: ppmi must not use it, so tear-down cannot delete it."""
    environment = sandbox.control.create_environment(display_name="Hand-made identity")
    foreign_around(sandbox, policy, signers, [environment.id], same_name=(environment.id,))
    baseline = Baseline.capture(sandbox.control.dump())
    name = f"{policy.identity.name_prefix}-{environment.id}"

    created = event_body("ppmi.environment.created", {"environmentId": environment.id}, "c-hand-made")
    disposition = await through_processor(runtime, created)
    await tear_down(runtime, environment.id)

    assert disposition.outcome in (Outcome.FAILED, Outcome.REJECTED)
    assert name in disposition.reason
    assert check_invariants(baseline, Expectation(policy), sandbox.control.dump()) == []
