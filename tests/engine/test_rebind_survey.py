"""The re-binding survey asks Dataverse only about customers' components, each on its own, within a budget."""

from __future__ import annotations

import os

from sandbox.server import Sandbox
from shared.engine import Runtime, open_runtime
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, event, succeed
from tests.engine.test_rebind import bind_steps, bindings, row_id, subject_requests


async def test_microsoft_system_assemblies_are_never_asked_about_nor_reported(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    system = [
        sandbox.control.register_system_assembly(environment.id, name)
        for name in ("Microsoft.Crm.ObjectModel", "Microsoft.Dynamics.Sales.Plugins")
    ]
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    before = len(sandbox.requests)
    report = await succeed(runtime, event("environment.created", environment.id))

    assert subject_requests(sandbox, before) == [
        f"/api/data/v9.2/GetComponentManagedIdentityFIC(ComponentId={package},ComponentName='pluginpackage')"
    ]
    assert not any(component in target for component in system for target in bind_steps(report))
    assert bindings(sandbox, environment.id, "pluginassemblies") == dict.fromkeys(system)


async def test_one_components_refusal_is_reported_on_it_and_the_others_are_still_rebound(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    unsigned = sandbox.control.register_plugin_assembly(environment.id, None, name="Contoso.Unsigned")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    report = await succeed(runtime, event("environment.created", environment.id))

    steps = bind_steps(report)
    assert steps[f"pluginpackage {package}"][0] == "updated"
    outcome, detail = steps[f"pluginassembly {unsigned}"]
    assert outcome == "skipped"
    assert "Dataverse refused" in (detail or "")
    assert bindings(sandbox, environment.id) == {package: row_id(sandbox, environment.id)}


async def test_the_survey_asks_at_most_the_configured_number_of_subjects_per_run(
    sandbox: Sandbox, policy: Policy, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    packages = [sandbox.control.register_plugin_package(environment.id, der) for der in signers]
    settings = Settings.from_env({**os.environ, "PPMI_REBIND_SUBJECT_CALLS": "1"})
    before = len(sandbox.requests)
    async with open_runtime(settings, policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.created", environment.id))

    assert len(subject_requests(sandbox, before)) == 1
    outcomes = sorted(bind_steps(report)[f"pluginpackage {p}"][0] for p in packages)
    assert outcomes == ["skipped", "updated"]
    skipped = next(detail for outcome, detail in bind_steps(report).values() if outcome == "skipped")
    assert "PPMI_REBIND_SUBJECT_CALLS" in (skipped or "")
