"""Binding drift after solution imports: reconcile re-binds what ppmi trusts, leaves the rest alone."""

from __future__ import annotations

import uuid

import httpx
import pytest

from sandbox.server import Sandbox
from shared.clients import dataverse as dataverse_client
from shared.clients.dataverse import DataverseClient
from shared.engine import Report, Runtime, open_runtime, preview
from shared.errors import PermanentError
from shared.http import HttpClient, Pacing, SystemClock
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, self_signed, succeed, writes


def bindings(sandbox: Sandbox, environment_id: str, table: str = "pluginpackages") -> dict[str, str | None]:
    key = "pluginpackageid" if table == "pluginpackages" else "pluginassemblyid"
    return {row[key]: row["_managedidentityid_value"] for row in sandbox.control.rows(environment_id, table)}


def row_id(sandbox: Sandbox, environment_id: str) -> str:
    (row,) = sandbox.control.rows(environment_id, "managedidentities")
    return str(row["managedidentityid"])


def bind_steps(report: Report) -> dict[str, tuple[str, str | None]]:
    return {
        step.target: (step.outcome, step.detail) for step in report.steps if step.step == "bind-component"
    }


def subject_requests(sandbox: Sandbox, since: int = 0) -> list[str]:
    return [r.path for r in sandbox.requests[since:] if "GetComponentManagedIdentityFIC" in r.path]


async def test_after_a_solution_import_reconcile_rebinds_trusted_packages_and_then_writes_nothing(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    packages = [sandbox.control.register_plugin_package(environment.id, der) for der in signers]
    assembly = sandbox.control.register_plugin_assembly(environment.id, signers[0])
    await succeed(runtime, event("environment.created", environment.id))
    current = row_id(sandbox, environment.id)
    assert bindings(sandbox, environment.id) == dict.fromkeys(packages, current)

    assert sandbox.control.import_solution(environment.id) == len(packages)
    before = len(sandbox.requests)
    report = await succeed(runtime, event("environment.reconcile", environment.id))

    assert bindings(sandbox, environment.id) == dict.fromkeys(packages, current)
    assert bindings(sandbox, environment.id, "pluginassemblies") == {assembly: current}
    assert sorted(writes(sandbox, before)) == sorted(
        f"PATCH /api/data/v9.2/pluginpackages({p})" for p in packages
    )
    steps = bind_steps(report)
    assert [steps[f"pluginpackage {p}"][0] for p in packages] == ["updated", "updated"]
    assert steps[f"pluginassembly {assembly}"][0] == "unchanged"

    before = len(sandbox.requests)
    again = await succeed(runtime, event("environment.reconcile", environment.id))
    assert writes(sandbox, before) == []
    assert subject_requests(sandbox, before) == []  # nothing unbound: no per-component read
    assert {step.outcome for step in again.steps} == {"unchanged"}


async def test_a_component_signed_by_an_untrusted_certificate_is_never_bound(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    stranger = sandbox.control.register_plugin_package(environment.id, self_signed("Mallory Plug-ins"))
    report = await succeed(runtime, event("environment.created", environment.id))
    before = len(sandbox.requests)
    again = await succeed(runtime, event("environment.reconcile", environment.id))

    assert bindings(sandbox, environment.id) == {stranger: None}
    for outcome, detail in (
        bind_steps(report)[f"pluginpackage {stranger}"],
        bind_steps(again)[f"pluginpackage {stranger}"],
    ):
        assert outcome == "skipped"
        assert "untrusted or unknown" in (detail or "")
    assert writes(sandbox, before) == []


async def test_a_component_bound_to_a_row_ppmi_does_not_own_is_never_touched(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    foreign = str(uuid.uuid4())
    organization = runtime.dataverse(f"https://{environment.host}")
    assert await organization.create_managed_identity(
        foreign,
        {
            "applicationid": str(uuid.uuid4()),
            "tenantid": runtime.policy.tenant_id,
            "name": "Key Vault reference",
        },
    )
    await organization.bind_component("pluginpackage", package, foreign)

    before = len(sandbox.requests)
    report = await succeed(runtime, event("environment.created", environment.id))

    assert bindings(sandbox, environment.id) == {package: foreign}
    assert subject_requests(sandbox, before) == []
    assert not any("pluginpackages" in write for write in writes(sandbox, before))
    outcome, detail = bind_steps(report)[f"pluginpackage {package}"]
    assert outcome == "unchanged"
    assert "does not own" in (detail or "")


async def test_without_the_subject_function_reconcile_succeeds_and_says_pipelines_must_resend(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    sandbox.configure(component_subject_supported=False)
    environment = sandbox.control.create_environment(display_name="Sales")
    packages = [sandbox.control.register_plugin_package(environment.id, der) for der in signers]
    before = len(sandbox.requests)
    report = await succeed(runtime, event("environment.reconcile", environment.id))

    assert bindings(sandbox, environment.id) == dict.fromkeys(packages)
    for package in packages:
        outcome, detail = bind_steps(report)[f"pluginpackage {package}"]
        assert outcome == "skipped"
        assert "re-send its registration event" in (detail or "")
    assert len(subject_requests(sandbox, before)) == 1  # refused once, not asked again for the same type
    assert len(sandbox.control.rows(environment.id, "managedidentities")) == 1


async def test_a_component_bound_to_an_earlier_ppmi_row_moves_to_the_current_one(
    sandbox: Sandbox, runtime: Runtime, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    await succeed(runtime, event("environment.created", environment.id))
    earlier = row_id(sandbox, environment.id)

    application = sandbox.control.create_application("ppmi plug-ins")
    policy = write_policy(
        identity=(
            "strategy: app-registration\n"
            f"applicationObjectId: {application.object_id}\n"
            f"applicationId: {application.app_id}"
        )
    )
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as moved:
        await succeed(moved, event("environment.reconcile", environment.id))

    rows = {
        row["managedidentityid"]: row for row in sandbox.control.rows(environment.id, "managedidentities")
    }
    (current,) = set(rows) - {earlier}
    assert rows[current]["applicationid"] == application.app_id
    assert bindings(sandbox, environment.id) == {package: current}


async def test_a_plan_shows_the_rebind_and_writes_nothing(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    await succeed(runtime, event("environment.created", environment.id))
    sandbox.control.import_solution(environment.id)
    before = len(sandbox.requests)

    planned = await preview(environment.id, runtime)

    assert writes(sandbox, before) == []
    (change,) = [c for c in planned.changes if c.step == "bind-component"]
    assert (change.target, change.change) == (f"pluginpackage {package}", "update")
    assert planned.pending


async def test_components_are_read_across_pages(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataverse_client, "COMPONENT_PAGE_SIZE", 2)
    environment = sandbox.control.create_environment(display_name="Sales")
    packages = [
        sandbox.control.register_plugin_package(environment.id, signers[n % 2], name=f"Contoso.Package{n}")
        for n in range(5)
    ]
    before = len(sandbox.requests)
    await succeed(runtime, event("environment.created", environment.id))

    assert bindings(sandbox, environment.id) == dict.fromkeys(packages, row_id(sandbox, environment.id))
    listings = [
        r for r in sandbox.requests[before:] if r.method == "GET" and r.path.endswith("/pluginpackages")
    ]
    assert len(listings) == 3


async def test_a_row_in_another_subject_format_is_not_rebound_and_no_subject_is_asked(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    policy = write_policy(extra="formatVersion: 1")
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.created", environment.id))

    assert bindings(sandbox, environment.id) == {package: None}
    assert subject_requests(sandbox) == []
    outcome, detail = bind_steps(report)[f"pluginpackage {package}"]
    assert outcome == "skipped"
    assert "subject format version 1" in (detail or "")


async def test_a_component_page_link_off_the_organisation_is_refused_before_it_is_followed() -> None:
    origin = "https://contoso.crm.dynamics.com"
    seen: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        page = {"value": [], "@odata.nextLink": "https://attacker.example/api/data/v9.2/pluginpackages"}
        return httpx.Response(200, json=page)

    http = HttpClient(transport=httpx.MockTransport(reply), tokens=None, pacing=Pacing(SystemClock()))
    try:
        with pytest.raises(PermanentError, match="refusing to follow a nextLink"):
            await DataverseClient(http, origin).list_components("pluginpackage")
    finally:
        await http.aclose()
    assert [url.split("?")[0] for url in seen] == [f"{origin}/api/data/v9.2/pluginpackages"]
