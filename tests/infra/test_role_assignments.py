"""Least privilege: deterministic role assignment names, service principals only, and delegated
role-assignment rights limited to exactly the roles the policy grants."""

from __future__ import annotations

import re

import pytest

from tests.infra.templates import (
    RBAC_ADMINISTRATOR,
    RoleAssignment,
    evaluate,
    resolve,
    resource_config,
    role_assignments,
    template,
    variable,
)

SCOPE_ID_BY_TARGET = {"resourceGroup": "resource_group", "subscription": "subscription"}
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
# Target-based scaling reads the trigger queues' length with the app's identity: that needs Manage, which
# among the built-in roles only Data Owner has (infra/app/app-access.bicep says where that comes from).
SERVICE_BUS_DATA_OWNER = "090c5cfd-751d-490a-894a-3ce6f1109419"


def assignment_ids(assignment: RoleAssignment) -> str:
    return f"{assignment.file}:{assignment.symbol}"


@pytest.mark.parametrize("assignment", role_assignments(), ids=assignment_ids)
def test_role_assignment_is_named_by_scope_principal_and_role(assignment: RoleAssignment) -> None:
    name = assignment.config["name"]["function"]
    scope_id = name["parameters"]["base_string"]["operator"]["operands"]
    role_reference = assignment.properties["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]

    assert name["type"] == "guid"
    assert set(name["parameters"]) == {"base_string", "extra_string_1", "extra_string_2"}
    assert scope_id["operand_2"] == "id"
    if "scope" in assignment.config:
        assert scope_id["operand_1"] == assignment.config["scope"]
    else:
        assert scope_id["operand_1"]["function"]["type"] == SCOPE_ID_BY_TARGET[assignment.target_scope]
    assert name["parameters"]["extra_string_1"] == assignment.properties["principalId"]
    assert name["parameters"]["extra_string_2"] == role_reference


@pytest.mark.parametrize("assignment", role_assignments(), ids=assignment_ids)
def test_role_assignment_names_its_principal_type(assignment: RoleAssignment) -> None:
    assert assignment.properties["principalType"] == "ServicePrincipal"


def test_app_identity_holds_exactly_the_data_roles_it_uses() -> None:
    granted = {(a.symbol, a.role_id) for a in role_assignments() if a.file == "app/app-access.bicep"}

    assert granted == {
        ("storageBlobOwner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
        ("metricsPublisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
        ("eventsOwner", SERVICE_BUS_DATA_OWNER),
        ("workOwner", SERVICE_BUS_DATA_OWNER),
        ("resultsSender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
        ("keptSender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
        ("publisherSenders", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"),
        ("publisherResultReceivers", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"),
    }


def test_only_the_trigger_queues_give_the_app_the_manage_right_and_never_the_namespace() -> None:
    owners = [a for a in role_assignments() if a.role_id == SERVICE_BUS_DATA_OWNER]

    assert sorted(a.config["scope"] for a in owners) == ["eventsQueue", "workQueue"]


def test_identity_resource_group_gets_managed_identity_contributor_and_nothing_broader() -> None:
    (assignment,) = [a for a in role_assignments() if a.file == "app/identity-contributor.bicep"]
    module = template("main.bicep")["modules"]["identityContributor"]

    assert assignment.role_id == "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
    assert (
        resource_config(module)["scope"]["function"]["parameters"]["resource_group_name"]
        == "identityGroupName"
    )


def test_role_assignment_rights_are_never_granted_without_a_condition() -> None:
    delegations = [a for a in role_assignments() if a.role_id == RBAC_ADMINISTRATOR]

    assert {a.file for a in delegations} == {
        "app/role-delegation-resource-group.bicep",
        "app/role-delegation-subscription.bicep",
    }
    for delegation in delegations:
        assert delegation.properties["condition"] == "condition"
        assert delegation.properties["conditionVersion"] == "2.0"


def test_both_delegation_scopes_receive_the_one_condition_built_from_the_policy_roles() -> None:
    modules = template("main.bicep")["modules"]

    for symbol in ("resourceGroupDelegations", "subscriptionDelegations"):
        assert resource_config(modules[symbol])["params"]["condition"] == "roleAssignmentDelegationCondition"


def render_delegation_condition(role_ids: list[str]) -> str:
    """Evaluates the condition variable of main.bicep the way ARM would for the given policy roles."""
    main = template("main.bicep")
    role_list = evaluate(main, "grantedRoleList", {"grantedRoleDefinitionIds": role_ids})
    condition: str = resolve(main, "roleAssignmentDelegationCondition")
    return condition.replace("\\'", "'").replace("${grantedRoleList}", role_list)


def clause(action: str, source: str) -> str:
    attribute = f"@{source}\\[Microsoft\\.Authorization/roleAssignments:"
    return (
        rf"\(\(!\(ActionMatches\{{'Microsoft\.Authorization/roleAssignments/{action}'\}}\)\) OR "
        rf"\({attribute}RoleDefinitionId\] ForAnyOfAnyValues:GuidEquals \{{(?P<{action}_roles>[^}}]*)\}} AND "
        rf"{attribute}PrincipalType\] ForAnyOfAnyValues:StringEqualsIgnoreCase \{{'ServicePrincipal'\}}\)\)"
    )


def test_delegation_condition_allows_writing_and_deleting_only_the_policy_roles_for_service_principals() -> (
    None
):
    policy_roles = [KEY_VAULT_SECRETS_USER, STORAGE_BLOB_DATA_READER]

    condition = render_delegation_condition(policy_roles)

    match = re.fullmatch(f"{clause('write', 'Request')} AND {clause('delete', 'Resource')}", condition)
    assert match is not None, condition
    assert match["write_roles"].split(", ") == policy_roles
    assert match["delete_roles"].split(", ") == policy_roles


def grant_scopes(role_ids: list[str], scopes: list[str]) -> dict[str, list[str]]:
    main = template("main.bicep")
    parameters = {"grantedRoleDefinitionIds": role_ids, "grantScopes": scopes}
    names = ("subscriptionGrantScopes", "resourceGroupGrantScopes", "unrecognisedGrantScopes")
    return {name: evaluate(main, name, parameters) for name in names}


SUBSCRIPTION = "/subscriptions/3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f"
RESOURCE_GROUP = f"{SUBSCRIPTION}/resourceGroups/rg-plugin-secrets"
KEY_VAULT = f"{RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/kv-plugins"


def test_grant_scopes_are_delegated_per_subscription_or_resource_group_and_others_are_reported() -> None:
    scopes = grant_scopes(
        [KEY_VAULT_SECRETS_USER], [SUBSCRIPTION, RESOURCE_GROUP, KEY_VAULT, "rg-plugin-secrets"]
    )

    assert scopes == {
        "subscriptionGrantScopes": [SUBSCRIPTION],
        "resourceGroupGrantScopes": [RESOURCE_GROUP],
        "unrecognisedGrantScopes": [KEY_VAULT, "rg-plugin-secrets"],
    }


def test_without_policy_roles_no_role_assignment_rights_are_delegated() -> None:
    scopes = grant_scopes([], [SUBSCRIPTION, RESOURCE_GROUP])

    assert scopes["subscriptionGrantScopes"] == []
    assert scopes["resourceGroupGrantScopes"] == []


def test_delegations_are_deployed_once_per_grant_scope() -> None:
    modules = template("main.bicep")["modules"]

    for symbol, scopes in (
        ("resourceGroupDelegations", "resourceGroupGrantScopes"),
        ("subscriptionDelegations", "subscriptionGrantScopes"),
    ):
        assert modules[symbol]["config"]["loop_type"]["detail"]["array_name"] == scopes


def test_subscription_wide_delegation_is_deployed_at_subscription_scope() -> None:
    assert template("app/role-delegation-subscription.bicep")["globals"]["scope"]["value"] == "subscription"
    assert (
        template("app/role-delegation-resource-group.bicep")["globals"]["scope"]["value"] == "resourceGroup"
    )


def test_provisioned_identities_live_apart_from_the_apps_own_identity_by_default() -> None:
    chosen = variable(template("main.bicep"), "identityGroupName")["operator"]["operands"]

    assert chosen["condition"] == {
        "function": {"type": "empty", "parameters": {"item_to_test": "identityResourceGroupName"}}
    }
    assert chosen["true_value"] == "${appResourceGroupName}-identities"
