"""A new environment and its plug-ins, end to end against the sandbox over real HTTPS."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.server import Sandbox
from shared.engine import Runtime, open_runtime, process
from shared.errors import TransientError
from shared.fic import Signer, federated_credential, load_certificate
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import (
    FAST_BACKOFF,
    KEY_VAULT_SECRETS_USER,
    PolicyWriter,
    certificate_reference,
    event,
    self_signed,
    succeed,
    writes,
)


def identity_of(sandbox: Sandbox, environment_id: str) -> dict[str, Any]:
    identities = sandbox.control.dump()["identities"]
    return next(i for i in identities if i["name"] == f"ppmi-{environment_id}")


def expected_subject(policy: Policy, environment_id: str, der: bytes) -> str:
    signer = Signer.from_certificate(load_certificate(der))
    return federated_credential(
        tenant_id=policy.tenant_id, environment_id=environment_id, signer=signer
    ).subject


async def test_a_new_environment_gets_identity_fics_row_and_grants(
    sandbox: Sandbox, runtime: Runtime, policy: Policy, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))

    identity = identity_of(sandbox, environment.id)
    assert identity["tags"] == {"team": "platform", "ppmi-owned": "true", "ppmi-environment": environment.id}
    subjects = {fic["properties"]["subject"] for fic in identity["federatedIdentityCredentials"]}
    assert subjects == {expected_subject(policy, environment.id, der) for der in signers}
    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    assert (row["credentialsource"], row["subjectscope"], row["version"]) == (2, 1, 2)
    assert row["applicationid"] == identity["properties"]["clientId"]
    assert row["tenantid"] == policy.tenant_id
    (grant,) = sandbox.control.dump()["roleAssignments"]
    assert grant["properties"]["principalId"] == identity["properties"]["principalId"]
    assert grant["properties"]["roleDefinitionId"].endswith(KEY_VAULT_SECRETS_USER)
    assert grant["properties"]["scope"].endswith(f"/vaults/kv-{environment.id}")


async def test_package_and_assembly_events_bind_with_the_subject_dataverse_computes(
    sandbox: Sandbox, runtime: Runtime, policy: Policy, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    assembly = sandbox.control.register_plugin_assembly(environment.id, signers[0])
    package = sandbox.control.register_plugin_package(environment.id, signers[1])
    await succeed(runtime, event("environment.created", environment.id))
    await succeed(
        runtime,
        event(
            "pluginassembly.registered",
            environment.id,
            pluginAssemblyId=assembly,
            certificate=certificate_reference(signers[0]),
        ),
    )
    report = await succeed(
        runtime,
        event(
            "pluginpackage.registered",
            environment.id,
            pluginPackageId=package,
            certificate=certificate_reference(signers[1]),
        ),
    )

    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    (bound_assembly,) = sandbox.control.rows(environment.id, "pluginassemblies")
    (bound_package,) = sandbox.control.rows(environment.id, "pluginpackages")
    assert bound_assembly["_managedidentityid_value"] == row["managedidentityid"]
    assert bound_package["_managedidentityid_value"] == row["managedidentityid"]
    assert [(s.step, s.outcome) for s in report.steps if s.step == "verify-subject"] == [
        ("verify-subject", "unchanged")
    ]
    subjects = {
        fic["properties"]["subject"]
        for fic in identity_of(sandbox, environment.id)["federatedIdentityCredentials"]
    }
    assert expected_subject(policy, environment.id, signers[1]) in subjects
    with sandbox.client(f"https://{environment.host}") as client:
        answer = client.get(
            f"https://{environment.host}/api/data/v9.2/GetComponentManagedIdentityFIC"
            f"(ComponentId={package},ComponentName='pluginpackage')",
            headers={"OData-MaxVersion": "4.0", "OData-Version": "4.0"},
        ).json()
    assert answer["FICSubject"] == expected_subject(policy, environment.id, signers[1])


async def test_every_event_processed_twice_writes_nothing_the_second_time(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    events = [
        event("environment.created", environment.id),
        event(
            "pluginpackage.registered",
            environment.id,
            pluginPackageId=package,
            certificate=certificate_reference(signers[0]),
        ),
        event("environment.reconcile", environment.id),
    ]
    for incoming in events:
        await succeed(runtime, incoming)
        before = len(sandbox.requests)
        report = await succeed(runtime, incoming)
        assert writes(sandbox, before) == []
        assert {step.outcome for step in report.steps} <= {"unchanged", "skipped"}


async def test_a_package_event_before_its_environment_event_still_converges(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    await succeed(
        runtime,
        event(
            "pluginpackage.registered",
            environment.id,
            pluginPackageId=package,
            certificate=certificate_reference(signers[0]),
        ),
    )
    await succeed(runtime, event("environment.created", environment.id))

    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    (bound,) = sandbox.control.rows(environment.id, "pluginpackages")
    assert bound["_managedidentityid_value"] == row["managedidentityid"]
    assert len(identity_of(sandbox, environment.id)["federatedIdentityCredentials"]) == 2
    assert len(sandbox.control.dump()["roleAssignments"]) == 1


async def test_an_untrusted_signer_is_rejected_with_its_reason_and_gets_no_fic(
    sandbox: Sandbox, runtime: Runtime
) -> None:
    stranger = self_signed("Mallory Plug-ins")
    environment = sandbox.control.create_environment(display_name="Sales")
    package = sandbox.control.register_plugin_package(environment.id, stranger)
    report = await process(
        event(
            "pluginpackage.registered",
            environment.id,
            pluginPackageId=package,
            certificate=certificate_reference(stranger),
        ),
        runtime,
    )
    assert report.outcome == "rejected"
    assert "not trusted" in (report.reason or "")
    assert writes(sandbox) == []


async def test_an_environment_whose_dataverse_url_is_off_the_allow_list_is_never_contacted(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(extra="dataverseHostSuffixes: [crm4.dynamics.com]")
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment.id), runtime)
    assert report.outcome == "rejected"
    assert environment.host is not None
    assert environment.host in (report.reason or "")
    assert [r for r in sandbox.requests if r.host == environment.host] == []
    assert writes(sandbox) == []


async def test_an_unknown_environment_is_rejected(runtime: Runtime) -> None:
    report = await process(event("environment.created", "00000000-0000-0000-0000-000000000001"), runtime)
    assert report.outcome == "rejected"
    assert "does not exist" in (report.reason or "")


async def test_the_service_makes_itself_an_application_user_when_the_policy_says_so(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(extra="manageApplicationUser: true")
    environment = sandbox.control.create_environment(display_name="Sales", app_users=())
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.created", environment.id))
        before = len(sandbox.requests)
        again = await succeed(runtime, event("environment.created", environment.id))

    assert ("application-user", "created") in [(step.step, step.outcome) for step in report.steps]
    assert ("application-user", "unchanged") in [(step.step, step.outcome) for step in again.steps]
    assert writes(sandbox, before) == []
    assert len(sandbox.control.rows(environment.id, "managedidentities")) == 1


async def test_an_environment_still_provisioning_is_retried_later(sandbox: Sandbox, runtime: Runtime) -> None:
    environment = sandbox.control.create_environment(display_name="Sales", provisioning_seconds=600)
    with pytest.raises(TransientError, match="not ready") as caught:
        await process(event("environment.created", environment.id), runtime)
    assert caught.value.retry_after >= 60
    assert writes(sandbox) == []


async def test_an_environment_outside_the_policys_scope_is_rejected(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    policy = write_policy(extra="environments:\n  types: [Production]")
    environment = sandbox.control.create_environment(display_name="Sales", env_type="Sandbox")
    async with open_runtime(Settings.from_env(), policy) as runtime:
        report = await process(event("environment.created", environment.id), runtime)
    assert report.outcome == "rejected"
    assert "outside the policy's environments scope" in (report.reason or "")
    assert writes(sandbox) == []
