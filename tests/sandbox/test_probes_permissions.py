"""Probes of the permissions API with Microsoft's own client, unchanged: what it reports is what ARM enforces.

The roles' actions are Learn's (contracts/arm-authorization/learn_built-in-roles.ppmi-deployment-roles.
excerpt.md); how to read an entry, azure-docs' (azure-docs_resource-manager-api-authentication.permissions-
sections.md beside it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ManagedIdentityCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import Identity

from sandbox.server import Sandbox
from tests.contracts.documents import CONTRACTS
from tests.sandbox.test_probes_arm import GROUP, KEY_VAULT_SECRETS_USER, credential

__all__ = ["credential"]

ROLES = CONTRACTS / "arm-authorization" / "learn_built-in-roles.ppmi-deployment-roles.excerpt.md"
VAULT = ("Microsoft.KeyVault", "", "vaults", "kv-plugins")
ARM = "https://management.azure.com"


def _options(sandbox: Sandbox) -> dict[str, Any]:
    return {"base_url": sandbox.url, "connection_verify": str(sandbox.ca_path)}


@pytest.fixture
def authorization(
    sandbox: Sandbox, credential: ManagedIdentityCredential
) -> Iterator[AuthorizationManagementClient]:
    """Closed after the test: a pooled connection left open outlives the sandbox's loop."""
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    with AuthorizationManagementClient(credential, subscription, **_options(sandbox)) as client:
        yield client


@pytest.fixture
def msi(sandbox: Sandbox, credential: ManagedIdentityCredential) -> Iterator[ManagedServiceIdentityClient]:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    with ManagedServiceIdentityClient(credential, subscription, **_options(sandbox)) as client:
        yield client


def learn_role_actions(name: str) -> list[str]:
    """The actions of a built-in role, from the JSON block of its section on Learn."""
    for block in re.findall(r"```json\n(.*?)```", ROLES.read_text(encoding="utf-8"), re.DOTALL):
        definition = json.loads(block)
        if definition["roleName"] == name:
            return list(definition["permissions"][0]["actions"])
    raise AssertionError(f"{name} is not in {ROLES.name}")


def _deploy(sandbox: Sandbox, **overrides: Any) -> None:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    access = {
        "enforced": True,
        "identity_resource_groups": [GROUP],
        "granted_role_definition_ids": [KEY_VAULT_SECRETS_USER],
        "grant_scopes": [f"/subscriptions/{subscription}/resourceGroups/rg-kv"],
    }
    sandbox.configure(arm_access=access | overrides)


def _actions(entries: Any) -> list[list[str]]:
    return [list(entry.actions) for entry in entries]


def test_with_the_model_off_the_caller_may_do_everything(
    authorization: AuthorizationManagementClient,
) -> None:
    """Every caller holds Owner's `*` when the sandbox does not model ppmi's rights."""
    assert _actions(authorization.permissions.list_for_resource_group(GROUP)) == [["*"]]


def test_the_identity_group_reports_managed_identity_contributor_as_learn_lists_it(
    authorization: AuthorizationManagementClient, sandbox: Sandbox
) -> None:
    _deploy(sandbox)
    expected = learn_role_actions("Managed Identity Contributor")
    assert _actions(authorization.permissions.list_for_resource_group(GROUP)) == [expected]


def test_a_resource_in_a_grant_scope_reports_the_rbac_administrator_role(
    authorization: AuthorizationManagementClient, sandbox: Sandbox
) -> None:
    _deploy(sandbox)
    entries = list(authorization.permissions.list_for_resource("rg-kv", *VAULT))
    assert _actions(entries) == [learn_role_actions("Role Based Access Control Administrator")]
    assert entries[0].not_actions == []


def test_where_the_deployment_gives_nothing_the_list_is_empty_and_the_write_is_refused(
    authorization: AuthorizationManagementClient, msi: ManagedServiceIdentityClient, sandbox: Sandbox
) -> None:
    """The report and the enforcement are one model: no entry, and ARM's 403 for the call itself."""
    _deploy(sandbox)
    assert list(authorization.permissions.list_for_resource_group("rg-ppmi")) == []
    with pytest.raises(HttpResponseError) as refused:
        msi.user_assigned_identities.create_or_update("rg-ppmi", "uami", Identity(location="westeurope"))
    assert refused.value.status_code == 403


def test_another_caller_holds_nothing_and_may_still_ask(
    sandbox: Sandbox,
) -> None:
    _deploy(sandbox)
    stranger = sandbox.control.create_application("someone else")
    token = sandbox.control.mint_token(ARM, app_id=stranger.app_id, object_id=stranger.service_principal_id)
    path = f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/{GROUP}"
    with sandbox.client(ARM) as arm:
        reply = arm.get(
            f"{ARM}{path}/providers/Microsoft.Authorization/permissions",
            params={"api-version": "2022-04-01"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (reply.status_code, reply.json()) == (200, {"value": []})


def test_the_subscription_is_asked_with_the_documented_version(sandbox: Sandbox) -> None:
    """azure-docs shows the subscription-scope call with 2015-07-01; assignments below it do not reach up."""
    _deploy(sandbox)
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    with sandbox.client(ARM) as arm:
        reply = arm.get(
            f"{ARM}/subscriptions/{subscription}/providers/microsoft.authorization/permissions",
            params={"api-version": "2015-07-01"},
        )
    assert (reply.status_code, reply.json()) == (200, {"value": []})


def test_an_unserved_api_version_is_refused_as_arm_does(
    authorization: AuthorizationManagementClient,
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        list(authorization.permissions.list_for_resource_group(GROUP, api_version="2020-01-01"))
    assert refused.value.error is not None
    assert (refused.value.status_code, refused.value.error.code) == (400, "NoRegisteredProviderFound")
