"""What someone else made stays theirs: a component bound by hand, an identity replaced by a namesake."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.engine import Runtime, process
from tests.engine.conftest import certificate_reference, event, succeed
from tests.reliability.foreign import ARM, MSI_API, ODATA


def bind_by_hand(sandbox: Sandbox, environment_id: str, kind: str, component_id: str) -> str:
    """A team's own `managedidentity` row, with the component bound to it through the Web API."""
    info = next(e for e in sandbox.control.environments() if e.id == environment_id)
    org = f"https://{info.host}"
    with sandbox.client(org, base_url=f"{org}/api/data/v9.2", headers=ODATA) as dataverse:
        row = {
            "name": "team-owned identity",
            "applicationid": "0b7e4a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c",
            "tenantid": sandbox.env["PPMI_TENANT_ID"],
            "credentialsource": 2,
            "subjectscope": 1,
            "version": 2,
        }
        response = dataverse.post("/managedidentities", json=row, headers={"Prefer": "return=representation"})
        response.raise_for_status()
        row_id = str(response.json()["managedidentityid"])
        table = "pluginpackages" if kind == "pluginpackage" else "pluginassemblies"
        bind = {"managedidentityid@odata.bind": f"/managedidentities({row_id})"}
        dataverse.patch(f"/{table}({component_id})", json=bind).raise_for_status()
    return row_id


@pytest.mark.parametrize(
    ("kind", "event_type", "field"),
    [
        ("pluginpackage", "pluginpackage.registered", "pluginPackageId"),
        ("pluginassembly", "pluginassembly.registered", "pluginAssemblyId"),
    ],
)
@pytest.mark.parametrize("first", ["created", "registered"])
async def test_a_registration_never_moves_a_component_bound_elsewhere(  # noqa: PLR0917
    sandbox: Sandbox,
    runtime: Runtime,
    signers: list[bytes],
    kind: str,
    event_type: str,
    field: str,
    first: str,
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    if first == "created":  # ppmi already serves the environment, or meets it with this very event
        await succeed(runtime, event("environment.created", environment.id))
    register = (
        sandbox.control.register_plugin_package
        if kind == "pluginpackage"
        else sandbox.control.register_plugin_assembly
    )
    component = register(environment.id, signers[0])
    theirs = bind_by_hand(sandbox, environment.id, kind, component)

    report = await succeed(
        runtime,
        event(
            event_type, environment.id, **{field: component, "certificate": certificate_reference(signers[0])}
        ),
    )

    table = "pluginpackages" if kind == "pluginpackage" else "pluginassemblies"
    (row,) = [r for r in sandbox.control.rows(environment.id, table) if r[f"{kind}id"] == component]
    assert row["_managedidentityid_value"] == theirs
    (step,) = [s for s in report.steps if s.step == "bind-component"]
    assert step.outcome == "skipped"
    assert theirs in (step.detail or "")
    assert "stays where it is" in (step.detail or "")


async def test_tear_down_in_a_held_view_leaves_a_namesake_that_replaced_the_identity(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    """The view read the identity as ppmi's; meanwhile it was replaced by an untagged one of the same name."""
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))
    held = runtime.held()
    await succeed(held, event("environment.reconcile", environment.id))  # the view now holds the identity
    identity = next(i for i in sandbox.control.dump()["identities"] if i["name"] == f"ppmi-{environment.id}")
    path = identity["id"]
    with sandbox.client(ARM, base_url=ARM) as arm:
        arm.delete(path, params=MSI_API).raise_for_status()
        arm.put(
            path, params=MSI_API, json={"location": "westeurope", "tags": {"team": "other"}}
        ).raise_for_status()
        fic = {
            "properties": {
                "issuer": "https://login.microsoftonline.com/x/v2.0",
                "subject": "theirs",
                "audiences": ["api://AzureADTokenExchange"],
            }
        }
        arm.put(
            f"{path}/federatedIdentityCredentials/ppmi-{environment.id}-0123456789abcdef",
            params=MSI_API,
            json=fic,
        ).raise_for_status()

    report = await process(event("environment.deleted", environment.id), held)

    assert report.outcome == "failed"
    assert "no longer tagged as ppmi's" in (report.reason or "")
    (namesake,) = [i for i in sandbox.control.dump()["identities"] if i["name"] == f"ppmi-{environment.id}"]
    assert namesake["tags"] == {"team": "other"}
    assert [f["name"] for f in namesake["federatedIdentityCredentials"]] == [
        f"ppmi-{environment.id}-0123456789abcdef"
    ]
