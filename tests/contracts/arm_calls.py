"""Which `ArmClient` method makes each ARM operation, and what ppmi should read from each reply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.clients.arm import (
    ArmClient,
    IdentityAddress,
    ManagedIdentity,
    Permission,
    RoleAssignment,
    StoredCredential,
)
from shared.fic import FederatedCredential

_PREFIXES = {
    "UserAssignedIdentities": "identity",
    "FederatedIdentityCredentials": "credential",
    "RoleAssignments": "assignment",
    "Permissions": "permission",
}


def kind_of(operation_id: str) -> str:
    return _PREFIXES[operation_id.split("_", 1)[0]]


async def call(  # noqa: PLR0911, PLR0912 - one arm per operation reads best
    arm: ArmClient, operation_id: str, path: Mapping[str, str], body: Any
) -> Any:
    """Make `operation_id` through the client with the example's or recording's own values."""
    address = IdentityAddress(
        path.get("subscriptionId", ""), path.get("resourceGroupName", "rgName"), path.get("resourceName", "")
    )
    credential = path.get("federatedIdentityCredentialResourceName", "")
    name = path.get("roleAssignmentName", "")
    scope = "/" + path["scope"].strip("/") if "scope" in path else _group_scope(path)
    properties = (body or {}).get("properties") or {}
    verb = operation_id.split("_", 1)[1]
    match kind_of(operation_id), verb:
        case "identity", "Get":
            return await arm.get_identity(address)
        case "identity", "CreateOrUpdate":
            return await arm.create_or_update_identity(
                address, location=body["location"], tags=body.get("tags") or {}
            )
        case "identity", "Update":
            return await arm.update_identity_tags(address, (body or {}).get("tags") or {})
        case "identity", "Delete":
            return await arm.delete_identity(address)
        case "identity", _:  # ListByResourceGroup, and ListBySubscription's reply read the same way
            return await arm.list_identities(address.subscription_id, address.resource_group)
        case "credential", "List":
            return await arm.list_federated_credentials(address)
        case "credential", "Get":
            return await arm.get_federated_credential(address, credential)
        case "credential", "CreateOrUpdate":
            wanted = FederatedCredential(
                properties["issuer"], properties["subject"], properties["audiences"][0]
            )
            return await arm.create_or_update_federated_credential(address, credential, wanted)
        case "credential", "Delete":
            return await arm.delete_federated_credential(address, credential)
        case "assignment", "Get":
            return await arm.get_role_assignment(scope, name)
        case "assignment", "Create":
            role = str(properties["roleDefinitionId"]).rsplit("/", 1)[-1]
            principal = str(properties["principalId"])
            return await arm.create_role_assignment(
                scope, name, role_definition_id=role, principal_id=principal
            )
        case "assignment", "Delete":
            return await arm.delete_role_assignment(scope, name)
        case "permission", _:  # ListForResourceGroup, ListForResource
            return await arm.list_permissions(_resource_scope(path))
        case "assignment", _:  # ListForScope, ListForResourceGroup
            return await arm.list_role_assignments_for_principal(
                scope, "ce2ce14e-85d7-4629-bdbc-454d0519d987"
            )
    raise AssertionError(f"ppmi makes no {operation_id} call")


def _group_scope(path: Mapping[str, str]) -> str:
    """The scope of a list by subscription or resource group (RoleAssignments_ListForResourceGroup)."""
    scope = f"/subscriptions/{path['subscriptionId']}"
    group = path.get("resourceGroupName")
    return f"{scope}/resourceGroups/{group}" if group else scope


def _resource_scope(path: Mapping[str, str]) -> str:
    """A resource group's ID, or a resource's (Permissions_ListForResource's path parameters)."""
    scope = _group_scope(path)
    if "resourceProviderNamespace" not in path:
        return scope
    parts = (path["resourceProviderNamespace"], path["parentResourcePath"], path["resourceType"])
    return "/".join((scope, "providers", *[part for part in parts if part], path["resourceName"]))


def read(result: Any) -> Any:
    """What ppmi took from a reply, as plain values."""
    if isinstance(result, list):
        return [read(item) for item in result]
    if isinstance(result, tuple):
        return tuple(read(item) for item in result)
    if isinstance(result, ManagedIdentity):
        return {
            "location": result.location,
            "tags": dict(result.tags),
            "clientId": result.client_id,
            "principalId": result.principal_id,
            "tenantId": result.tenant_id,
        }
    if isinstance(result, StoredCredential):
        return {
            "name": result.name,
            "issuer": result.issuer,
            "subject": result.subject,
            "audiences": result.audiences,
        }
    if isinstance(result, Permission):
        return {"actions": list(result.actions), "notActions": list(result.not_actions)}
    if isinstance(result, RoleAssignment):
        return {"name": result.name, "principalId": result.principal_id, "role": result.role_definition_id}
    return result


def _item(kind: str, item: Mapping[str, Any]) -> Any:
    properties = item.get("properties") or {}
    if kind == "identity":
        return {
            "location": item.get("location", ""),
            "tags": item.get("tags") or {},
            "clientId": properties.get("clientId", ""),
            "principalId": properties.get("principalId", ""),
            "tenantId": properties.get("tenantId", ""),
        }
    if kind == "permission":
        return {"actions": item.get("actions") or [], "notActions": item.get("notActions") or []}
    if kind == "credential":
        return {
            "name": item["name"],
            "issuer": properties["issuer"],
            "subject": properties["subject"],
            "audiences": tuple(properties["audiences"]),
        }
    return {
        "name": item["name"],
        "principalId": str(properties["principalId"]).lower(),
        "role": str(properties["roleDefinitionId"]).rsplit("/", 1)[-1].lower(),
    }


def expected(operation_id: str, status: int, bodies: list[Any]) -> Any:
    """What ppmi should read from the reply (`bodies`: each page of a list, else the one body)."""
    kind, verb = kind_of(operation_id), operation_id.split("_", 1)[1]
    if verb.startswith("List"):
        return [_item(kind, item) for body in bodies for item in body["value"]]
    if verb == "Delete":
        return status != 204
    if verb == "Get":
        return _item(kind, bodies[0])
    if kind == "identity":
        identity = _item(kind, bodies[0])
        return identity if verb == "Update" else (identity, status == 201)
    return status == 201 if kind == "credential" else True
