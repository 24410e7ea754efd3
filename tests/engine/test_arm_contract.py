"""What ARM really does, as ppmi meets it: PATCH for tags, a missing resource group, ppmi's own rights."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx

from sandbox.config import ArmAccess
from sandbox.server import Sandbox
from shared.deployment import deployment_parameters
from shared.engine import Runtime, open_runtime, process
from shared.engine._naming import ENVIRONMENT_TAG, OWNED_TAG
from shared.policy import Policy, load_policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, KEY_VAULT_SECRETS_USER, PolicyWriter, event, succeed

ARM = "https://management.azure.com"
MSI_VERSION = {"api-version": "2024-11-30"}


def _identity_url(sandbox: Sandbox, name: str, group: str = "rg-ppmi") -> str:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    return (
        f"/subscriptions/{subscription}/resourceGroups/{group}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )


def _enforce_rights(sandbox: Sandbox, policy: Policy, **overrides: Any) -> None:
    """ppmi's identity holds exactly what azd provision grants for `policy` (infra/main.bicep)."""
    deployed = ArmAccess.deployed(deployment_parameters(policy).as_json())
    sandbox.configure(arm_access=dataclasses.replace(deployed, **overrides))


async def test_adding_ppmi_tags_keeps_what_the_identity_owner_set(sandbox: Sandbox, runtime: Runtime) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    name = f"ppmi-{environment.id.lower()}"
    tags = {OWNED_TAG: "true", ENVIRONMENT_TAG: environment.id.lower(), "cost-centre": "4711"}
    with sandbox.client(ARM, base_url=ARM) as arm:
        body = {"location": "westeurope", "tags": tags, "properties": {"isolationScope": "Regional"}}
        arm.put(_identity_url(sandbox, name), params=MSI_VERSION, json=body).raise_for_status()
    since = len(sandbox.requests)

    await succeed(runtime, event("environment.created", environment.id))

    with sandbox.client(ARM, base_url=ARM) as arm:
        identity = arm.get(_identity_url(sandbox, name), params=MSI_VERSION).json()
    assert identity["properties"]["isolationScope"] == "Regional"
    assert identity["tags"] == tags | {"team": "platform"}
    tag_writes = [r.method for r in sandbox.requests[since:] if r.write and r.path.endswith(name)]
    assert tag_writes == ["PATCH"]


async def test_an_identity_resource_group_that_does_not_exist_rejects_the_event_with_the_fix(
    sandbox: Sandbox, write_policy: PolicyWriter, tmp_path: Path
) -> None:
    write_policy()
    path = tmp_path / "policy.yaml"
    path.write_text(path.read_text().replace("resourceGroup: rg-ppmi", "resourceGroup: rg-nobody-made"))
    policy = load_policy(path)
    environment = sandbox.control.create_environment(display_name="Sales")

    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "rejected"
    assert "resource group 'rg-nobody-made' does not exist" in (report.reason or "")
    assert "identity.resourceGroup" in (report.reason or "")
    refused = [r for r in sandbox.requests if r.error_code == "ResourceGroupNotFound"]
    assert len(refused) == 1  # not retried


async def test_deleting_an_environment_whose_identity_group_is_gone_removes_nothing_and_succeeds(
    sandbox: Sandbox, write_policy: PolicyWriter, tmp_path: Path
) -> None:
    write_policy()
    path = tmp_path / "policy.yaml"
    path.write_text(path.read_text().replace("resourceGroup: rg-ppmi", "resourceGroup: rg-nobody-made"))
    environment = sandbox.control.create_environment(display_name="Sales")

    async with open_runtime(Settings.from_env(), load_policy(path), backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.deleted", environment.id))

    assert [(step.step, step.outcome) for step in report.steps] == [("identity", "unchanged")]
    assert not [r for r in sandbox.requests if r.write]


async def test_with_the_rights_azd_provision_grants_for_the_policy_everything_converges(
    sandbox: Sandbox, runtime: Runtime, policy: Policy
) -> None:
    _enforce_rights(sandbox, policy)
    environment = sandbox.control.create_environment(display_name="Sales")

    report = await succeed(runtime, event("environment.created", environment.id))

    # Only the subscription-wide listing of ppmi's old grants is beyond those rights: it is skipped, said so.
    refused = [(r.method, r.path.rsplit("/providers/", 1)[0]) for r in sandbox.requests if r.status == 403]
    assert refused == [("GET", f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}")]
    assert any(
        step.outcome == "skipped" and "403 AuthorizationFailed" in (step.detail or "")
        for step in report.steps
    )


async def test_a_grant_outside_the_delegated_roles_fails_naming_the_missing_right(
    sandbox: Sandbox, runtime: Runtime, policy: Policy
) -> None:
    reader = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
    _enforce_rights(sandbox, policy, granted_role_definition_ids=[reader])
    environment = sandbox.control.create_environment(display_name="Sales")

    report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "failed"
    reason = report.reason or ""
    assert "may not Microsoft.Authorization/roleAssignments/write at /subscriptions/" in reason
    assert "roleGrants" in reason
    assert "ppmi policy deployment-parameters" in reason
    writes_refused = [r for r in sandbox.requests if r.status == 403 and r.method == "PUT"]
    assert len(writes_refused) == 1  # permanent: not retried


async def test_identities_outside_the_contributor_resource_group_fail_naming_the_role_needed(
    sandbox: Sandbox, runtime: Runtime, policy: Policy
) -> None:
    _enforce_rights(sandbox, policy, identity_resource_groups=["rg-ppmi-identities"])
    environment = sandbox.control.create_environment(display_name="Sales")

    report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "failed"
    assert "Managed Identity Contributor on resource group 'rg-ppmi'" in (report.reason or "")


def test_the_authorization_failure_is_arms_own_403(sandbox: Sandbox, policy: Policy) -> None:
    _enforce_rights(sandbox, policy, identity_resource_groups=[])
    url = _identity_url(sandbox, "uami")
    with sandbox.client(ARM, base_url=ARM) as arm:
        response: httpx.Response = arm.get(url, params=MSI_VERSION)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (403, "AuthorizationFailed")
    assert error["message"].endswith(
        "does not have authorization to perform action "
        f"'Microsoft.ManagedIdentity/userAssignedIdentities/read' over scope '{url}' or the scope is "
        "invalid. If access was recently granted, please refresh your credentials."
    )


async def test_a_granted_role_that_does_not_exist_fails_pointing_at_the_policy(
    sandbox: Sandbox, write_policy: PolicyWriter, tmp_path: Path
) -> None:
    write_policy()
    path = tmp_path / "policy.yaml"
    path.write_text(path.read_text().replace(KEY_VAULT_SECRETS_USER, "00000000-1111-4222-8333-444444444444"))
    environment = sandbox.control.create_environment(display_name="Sales")

    async with open_runtime(Settings.from_env(), load_policy(path), backoff=FAST_BACKOFF) as runtime:
        report = await process(event("environment.created", environment.id), runtime)

    assert report.outcome == "failed"
    assert "roleGrants[].roleDefinitionId" in (report.reason or "")
