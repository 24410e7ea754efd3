"""The invariant checker itself: silent on a correct state, and naming each kind of damage it must catch.

The correct state is made by hand here, through the sandbox's APIs, the way ppmi is meant to make it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from sandbox.server import Sandbox
from shared.policy import Policy
from tests.reliability.conftest import Signers, foreign_around
from tests.reliability.foreign import ARM, MSI_API, ODATA, ROLES_API
from tests.reliability.invariants import Baseline, Component, Expectation, check_invariants


@dataclass(frozen=True)
class HandMade:
    identity_path: str
    row_id: str
    assembly_id: str


def provision_by_hand(sandbox: Sandbox, policy: Policy, environment_id: str, assembly_id: str) -> HandMade:
    """Identity, FIC, row, binding and grants exactly as the policy asks, made through the APIs."""
    settings = policy.identity
    path = (
        f"/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ppmi-{environment_id}"
    )
    sandbox.configure(principal_propagation_seconds=0.0)
    with sandbox.client(ARM, base_url=ARM) as arm:
        tags = {**settings.tags, "ppmi-environment": environment_id}
        identity = arm.put(path, params=MSI_API, json={"location": settings.location, "tags": tags})
        properties = identity.raise_for_status().json()["properties"]
        for trusted in policy.trusted_signers:
            credential = policy.credential_for(environment_id, trusted.signer)
            body = {
                "properties": {
                    "issuer": credential.issuer,
                    "subject": credential.subject,
                    "audiences": [credential.audience],
                }
            }
            fic = f"{path}/federatedIdentityCredentials/{trusted.signer.key}"
            arm.put(fic, params=MSI_API, json=body).raise_for_status()
        for grant in policy.role_grants:
            scope = grant.scope_for(
                subscription_id=settings.subscription_id or "",
                resource_group=settings.resource_group or "",
                environment_id=environment_id,
            )
            role = (
                f"/subscriptions/{settings.subscription_id}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{grant.role_definition_id}"
            )
            body = {
                "properties": {
                    "roleDefinitionId": role,
                    "principalId": properties["principalId"],
                    "principalType": "ServicePrincipal",
                }
            }
            assignment = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
            arm.put(assignment, params=ROLES_API, json=body).raise_for_status()
    row_id = str(uuid.uuid4())
    with _dataverse(sandbox, environment_id) as dataverse:
        row = {
            "managedidentityid": row_id,
            "name": f"ppmi {environment_id}",
            "applicationid": properties["clientId"],
            "tenantid": policy.tenant_id,
            "credentialsource": 2,
            "subjectscope": 1,
            "version": 2,
        }
        dataverse.post("/managedidentities", json=row).raise_for_status()
        bind = {"managedidentityid@odata.bind": f"/managedidentities({row_id})"}
        dataverse.patch(f"/pluginassemblies({assembly_id})", json=bind).raise_for_status()
    return HandMade(path, row_id, assembly_id)


def _dataverse(sandbox: Sandbox, environment_id: str) -> httpx.Client:
    host = next(e.host for e in sandbox.control.environments() if e.id == environment_id)
    org = f"https://{host}"
    return sandbox.client(org, base_url=f"{org}/api/data/v9.2", headers=ODATA)


@dataclass(frozen=True)
class Scenario:
    sandbox: Sandbox
    policy: Policy
    baseline: Baseline
    expectation: Expectation
    made: HandMade
    environment_id: str
    foreign_identity: str

    def violations(self) -> list[str]:
        return check_invariants(self.baseline, self.expectation, self.sandbox.control.dump())


@pytest.fixture
def scenario(sandbox: Sandbox, policy: Policy, signers: Signers) -> Scenario:
    environment = sandbox.control.create_environment(display_name="Checked")
    bystander = sandbox.control.create_environment(display_name="Bystander")
    assembly = sandbox.control.register_plugin_assembly(environment.id, signers.trusted)
    seed = foreign_around(sandbox, policy, signers, [environment.id, bystander.id], same_name=(bystander.id,))
    baseline = Baseline.capture(sandbox.control.dump())
    made = provision_by_hand(sandbox, policy, environment.id, assembly)
    expectation = Expectation(policy)
    expectation.provisioned(environment.id).components.append(
        Component("pluginassemblies", assembly, signers.trusted)
    )
    return Scenario(sandbox, policy, baseline, expectation, made, environment.id, seed.identities[1])


def test_a_state_made_as_the_policy_says_has_no_violations(scenario: Scenario) -> None:
    assert scenario.violations() == []


def test_a_missing_credential_is_named(scenario: Scenario) -> None:
    with scenario.sandbox.client(ARM, base_url=ARM) as arm:
        listed = arm.get(f"{scenario.made.identity_path}/federatedIdentityCredentials", params=MSI_API)
        (credential,) = listed.json()["value"]
        arm.delete(credential["id"], params=MSI_API).raise_for_status()

    (violation,) = scenario.violations()
    assert violation.startswith(f"environment {scenario.environment_id}: FIC missing")


def test_a_touched_foreign_identity_is_named(scenario: Scenario) -> None:
    with scenario.sandbox.client(ARM, base_url=ARM) as arm:
        arm.put(
            scenario.foreign_identity,
            params=MSI_API,
            json={"location": "westeurope", "tags": {"purpose": "ppmi-demo"}},
        ).raise_for_status()

    (violation,) = scenario.violations()
    assert "existed before the run and was changed" in violation
    assert scenario.foreign_identity.lower() in violation


def test_a_deleted_foreign_credential_is_named(scenario: Scenario) -> None:
    with scenario.sandbox.client(ARM, base_url=ARM) as arm:
        listed = arm.get(f"{scenario.foreign_identity}/federatedIdentityCredentials", params=MSI_API)
        path = listed.json()["value"][0]["id"]
        arm.delete(path, params=MSI_API).raise_for_status()

    (violation,) = scenario.violations()
    assert violation == f"fic {path.lower()} existed before the run and was deleted"


def test_an_identity_left_after_tear_down_is_named(scenario: Scenario) -> None:
    scenario.expectation.provisioned(scenario.environment_id).deleted = True

    violations = scenario.violations()

    assert any("left behind" in v and scenario.made.identity_path.lower() in v for v in violations)
    assert any("was torn down" in v for v in violations)
    assert any("remains after tear-down" in v for v in violations)


def test_a_wrong_row_version_and_an_unbound_component_are_named(scenario: Scenario) -> None:
    with _dataverse(scenario.sandbox, scenario.environment_id) as dataverse:
        dataverse.patch(f"/managedidentities({scenario.made.row_id})", json={"version": 1})
        dataverse.delete(f"/pluginassemblies({scenario.made.assembly_id})/managedidentityid/$ref")

    violations = scenario.violations()

    assert f"environment {scenario.environment_id}: managedidentity version is 1, expected 2" in violations
    assert any(f"pluginassemblies({scenario.made.assembly_id}) is bound to None" in v for v in violations)


def test_a_second_identity_for_one_environment_is_named(scenario: Scenario) -> None:
    duplicate = scenario.made.identity_path + "-2"
    with scenario.sandbox.client(ARM, base_url=ARM) as arm:
        arm.put(duplicate, params=MSI_API, json={"location": "westeurope"}).raise_for_status()

    (violation,) = scenario.violations()
    assert violation.startswith(f"identity {duplicate.lower()} was created by the run but serves no live")
