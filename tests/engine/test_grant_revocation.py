"""The policy is the truth for ppmi's role grants: what it drops or moves is revoked, nothing else is."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import ArmAccess
from sandbox.server import Sandbox
from shared.deployment import deployment_parameters
from shared.engine import Runtime, open_runtime, process
from shared.engine._grants import listing_scopes
from shared.policy import Policy, load_policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, KEY_VAULT_SECRETS_USER, event, succeed
from tests.reliability.foreign import ARM, ROLES_API

STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"


def assignments(sandbox: Sandbox, principal_id: str) -> dict[tuple[str, str], str]:
    """(scope lower-cased, role) -> name of every assignment the principal holds."""
    found = {}
    for item in sandbox.control.dump()["roleAssignments"]:
        properties = item["properties"]
        if properties["principalId"] == principal_id:
            role = properties["roleDefinitionId"].rsplit("/", 1)[-1]
            found[(properties["scope"].lower(), role)] = item["name"]
    return found


def principal_of(sandbox: Sandbox, environment_id: str) -> str:
    identity = next(i for i in sandbox.control.dump()["identities"] if i["name"] == f"ppmi-{environment_id}")
    return str(identity["properties"]["principalId"])


@pytest.fixture
def rewrite(policy: Policy, tmp_path: Path) -> Callable[..., Policy]:
    """The test's policy (already written) with its `roleGrants` replaced by (role, scope) pairs."""

    def write(*pairs: tuple[str, str]) -> Policy:
        text = (tmp_path / "policy.yaml").read_text(encoding="utf-8")
        head, rest = text.split("roleGrants:\n", 1)
        tail = rest[rest.index("pacing:") :]
        block = "".join(f"  - roleDefinitionId: {role}\n    scope: {scope}\n" for role, scope in pairs)
        changed = tmp_path / "changed.yaml"
        changed.write_text(f"{head}roleGrants:{' []' if not pairs else ''}\n{block}{tail}", encoding="utf-8")
        return load_policy(changed)

    return write


async def reconcile_with(sandbox: Sandbox, policy: Policy, environment_id: str) -> Any:
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        return await process(event("environment.reconcile", environment_id), runtime)


GROUP_SCOPE = "/subscriptions/{subscriptionId}/resourceGroups/rg-data"
from tests.engine.conftest import VAULT_SCOPE as VAULT  # noqa: E402


@pytest.mark.parametrize(
    ("later", "kept", "revoked"),
    [
        pytest.param((), (), ("vault",), id="grant dropped"),
        pytest.param(((KEY_VAULT_SECRETS_USER, GROUP_SCOPE),), ("group",), ("vault",), id="scope moved"),
        pytest.param(((STORAGE_BLOB_DATA_READER, VAULT),), ("vault-reader",), ("vault",), id="role changed"),
    ],
)
async def test_reconcile_revokes_the_grants_the_policy_no_longer_asks_for(  # noqa: PLR0917
    sandbox: Sandbox,
    runtime: Runtime,
    rewrite: Any,
    later: tuple[tuple[str, str], ...],
    kept: tuple[str, ...],
    revoked: tuple[str, ...],
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))
    principal = principal_of(sandbox, environment.id)
    before = assignments(sandbox, principal)

    report = await reconcile_with(sandbox, rewrite(*later), environment.id)

    assert report.outcome == "succeeded", report.reason
    after = assignments(sandbox, principal)
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    scopes = {
        "vault": (
            f"/subscriptions/{subscription}/resourcegroups/rg-kv/providers/microsoft.keyvault/vaults/kv-"
            f"{environment.id}",
            KEY_VAULT_SECRETS_USER,
        ),
        "group": (f"/subscriptions/{subscription}/resourcegroups/rg-data", KEY_VAULT_SECRETS_USER),
        "vault-reader": (
            f"/subscriptions/{subscription}/resourcegroups/rg-kv/providers/microsoft.keyvault/"
            f"vaults/kv-{environment.id}",
            STORAGE_BLOB_DATA_READER,
        ),
    }
    assert set(before) == {scopes["vault"]}
    assert set(after) == {scopes[name] for name in kept}
    removed = [step for step in report.steps if step.step == "role-assignment" and step.outcome == "removed"]
    assert [step.target.split(" on ")[0] for step in removed] == [before[scopes["vault"]]]
    assert all("no longer granted" in (step.detail or "") for step in removed)
    for name in revoked:
        assert scopes[name] not in after


async def test_foreign_assignments_and_those_still_wanted_stay(
    sandbox: Sandbox, runtime: Runtime, rewrite: Any
) -> None:
    """An assignment ppmi did not name (someone else's, even for ppmi's own principal) is never revoked."""
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))
    principal = principal_of(sandbox, environment.id)
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    by_hand = f"/subscriptions/{subscription}/resourceGroups/rg-data"
    with sandbox.client(ARM, base_url=ARM) as arm:
        body = {
            "properties": {
                "roleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{STORAGE_BLOB_DATA_READER}",
                "principalId": principal,
                "principalType": "ServicePrincipal",
            }
        }
        path = f"{by_hand}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
        arm.put(path, params=ROLES_API, json=body).raise_for_status()

    report = await reconcile_with(sandbox, rewrite(), environment.id)

    assert report.outcome == "succeeded", report.reason
    assert set(assignments(sandbox, principal)) == {(by_hand.lower(), STORAGE_BLOB_DATA_READER)}


async def test_tear_down_revokes_grants_made_under_an_earlier_policy(
    sandbox: Sandbox, runtime: Runtime, rewrite: Any
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))
    principal = principal_of(sandbox, environment.id)
    assert assignments(sandbox, principal)

    async with open_runtime(Settings.from_env(), rewrite(), backoff=FAST_BACKOFF) as later:
        report = await process(event("environment.deleted", environment.id), later)

    assert report.outcome == "succeeded", report.reason
    assert assignments(sandbox, principal) == {}


def _deploy_for(sandbox: Sandbox, policy: Policy) -> list[str]:
    """ppmi's identity holds what `azd provision` grants for `policy`; returns the scopes delegated."""
    parameters = deployment_parameters(policy).as_json()
    sandbox.configure(arm_access=ArmAccess.deployed(parameters))
    return [str(scope) for scope in parameters["PPMI_GRANT_SCOPES"]]  # type: ignore[attr-defined]


async def test_with_only_the_deployed_rights_reconcile_lists_where_it_may_and_revokes(
    sandbox: Sandbox, policy: Policy, rewrite: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deployment gives no read right on the whole subscription: the listing stays on the grant scopes
    the deployment delegates, so revoking needs no right beyond them. A grant whose whole scope left the
    policy is still found there while the running deployment (PPMI_GRANT_SCOPES) delegates it."""
    delegated = _deploy_for(sandbox, policy)
    monkeypatch.setenv("PPMI_GRANT_SCOPES", json.dumps(delegated))
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
    principal = principal_of(sandbox, environment.id)
    assert assignments(sandbox, principal)
    since = len(sandbox.requests)

    report = await reconcile_with(sandbox, rewrite(), environment.id)

    assert report.outcome == "succeeded", report.reason
    skipped = [step for step in report.steps if step.step == "role-assignment" and step.outcome == "skipped"]
    assert skipped == []
    refused = [request for request in sandbox.requests[since:] if request.status == 403]
    assert refused == []
    assert assignments(sandbox, principal) == {}


async def test_a_scope_the_service_refuses_to_list_is_reported_not_guessed(
    sandbox: Sandbox, policy: Policy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PPMI_GRANT_SCOPES names a group the deployment gives no right on: that listing is refused (403), which
    a skipped step names with the fix; the grants the policy asks for still converge."""
    delegated = _deploy_for(sandbox, policy)
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    elsewhere = f"/subscriptions/{subscription}/resourceGroups/rg-elsewhere"
    monkeypatch.setenv("PPMI_GRANT_SCOPES", json.dumps([*delegated, elsewhere]))
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))

    report = await reconcile_with(sandbox, policy, environment.id)

    assert report.outcome == "succeeded", report.reason
    skipped = [step for step in report.steps if step.step == "role-assignment" and step.outcome == "skipped"]
    assert [step.target for step in skipped] == [elsewhere]
    assert "403" in (skipped[0].detail or "")
    assert "azd provision" in (skipped[0].detail or "")
    assert assignments(sandbox, principal_of(sandbox, environment.id))


def test_the_listing_scopes_are_the_covering_scopes_then_the_delegated_ones(policy: Policy) -> None:
    covering = list(deployment_parameters(policy).grant_scopes)
    elsewhere = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-old"
    subscription = f"/subscriptions/{policy.identity.subscription_id}"

    assert listing_scopes(policy, []) == covering
    assert listing_scopes(policy, [covering[0].upper(), elsewhere]) == [*covering, elsewhere]
    assert listing_scopes(policy) == [*covering, subscription]  # deployment unknown: its subscription too
