"""ARM role assignments (contracts/arm-authorization/, roleAssignments 2022-04-01 and its examples).

- `RoleAssignmentExists` (409) for the same scope, principal and role under another name, and
  `PrincipalNotFound` (400) while a new principal replicates: verbatim bodies in
  contracts/errors/verbatim-error-bodies.from-issues.md §4-5. A request with `principalType` skips the lookup
  that lags ("Troubleshoot Azure RBAC", symptom "Assigning a role to a new principal sometimes fails",
  https://learn.microsoft.com/en-us/azure/role-based-access-control/troubleshooting), unless
  `principal_type_skips_lookup` is off (MicrosoftDocs/azure-docs#103085 reports it can still fail).
- `RoleDefinitionDoesNotExist` for a role that is neither built in (`BUILT_IN_ROLES`, from https://learn.
  microsoft.com/en-us/azure/role-based-access-control/built-in-roles) nor a configured custom role:
  message verbatim from Azure/terraform-azurerm-caf-enterprise-scale's wiki (served there with 404 on a read);
  400 on a PUT is UNCONFIRMED.
- Writes and deletes obey ppmi's delegation condition when `arm_access` is enforced (`sandbox.arm_access`).
- Replies carry the whole property set, explicit nulls included
  (recordings/azure-cli.role.roleAssignment-PUT-201.excerpt.yaml);
  DELETE answers 200 with the deleted assignment, or 204 (RoleAssignments_Delete.json).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandbox.arm_access import ArmRights, Ask, authorization_failed
from sandbox.errors import error_response
from sandbox.routing import Call, Refusal, Router
from sandbox.runtime import Runtime
from sandbox.state import Identity, RoleAssignment

BUILT_IN_ROLES = {
    "acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59": "Managed Identity Contributor",
    "f1a07417-d97a-45cb-824c-7a7467783830": "Managed Identity Operator",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "21090545-7ca7-4776-b22c-e363652d74d2": "Key Vault Reader",
    "12338af0-0e69-4776-bea7-57ae8d297424": "Key Vault Crypto User",
    "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba": "Key Vault Certificate User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": "Storage Blob Data Reader",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39": "Azure Service Bus Data Sender",
    "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0": "Azure Service Bus Data Receiver",
    "090c5cfd-751d-490a-894a-3ce6f1109419": "Azure Service Bus Data Owner",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "43d0d8ad-25c7-4714-9337-8ba259a9fe05": "Monitoring Reader",
    "7f951dda-4ed3-11e8-bbf0-0a580a020228": "AcrPull",
}
SCOPE = r"(?P<scope>(?:/[^/]+)*?)/providers/Microsoft\.Authorization/roleAssignments"
ASSIGNMENT = SCOPE + r"/(?P<name>[^/]+)"
ROLE_DEFINITION = re.compile(
    r"^(?:/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-fA-F-]{36}$",
    re.IGNORECASE,
)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FILTER_PRINCIPAL = re.compile(r"principalId\s+eq\s+'([^']+)'", re.IGNORECASE)


_VERBS = {"PUT": "write", "DELETE": "delete"}


def _error(status: int, code: str, message: str) -> web.Response:
    return error_response("arm", status, code, message)


def _same_grant(one: RoleAssignment, other: RoleAssignment) -> bool:
    """Scope, principal and role define an assignment; its name does not (verbatim bodies §4)."""
    return (
        one.scope.lower() == other.scope.lower()
        and one.principal_id == other.principal_id
        and one.role_definition_id.rsplit("/", 1)[-1].lower()
        == other.role_definition_id.rsplit("/", 1)[-1].lower()
    )


class RoleAssignments:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def register(self, router: Router) -> None:
        router.add("GET", SCOPE, self.list_assignments, "list")
        router.add("PUT", ASSIGNMENT, self.put_assignment)
        router.add("GET", ASSIGNMENT, self.get_assignment)
        router.add("DELETE", ASSIGNMENT, self.delete_assignment)

    def assignment_json(self, assignment: RoleAssignment) -> dict[str, Any]:
        service = self.runtime.state.service_identity.principal_id
        return {
            "id": assignment.resource_id,
            "name": assignment.name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": assignment.role_definition_id,
                "principalId": assignment.principal_id,
                "principalType": assignment.principal_type,
                "scope": assignment.scope,
                "condition": assignment.condition,
                "conditionVersion": assignment.condition_version,
                "createdOn": assignment.created_on,
                "updatedOn": assignment.created_on,
                "createdBy": None,
                "updatedBy": service,
                "delegatedManagedIdentityResourceId": None,
                "description": assignment.description,
            },
        }

    def _rights(self) -> ArmRights:
        state = self.runtime.state
        return ArmRights(
            self.runtime.config.arm_access, state.subscription_id, state.service_identity.principal_id
        )

    def _principal_problem(self, principal_id: str, principal_type: str | None) -> str | None:
        owner = self.runtime.state.known_principal(principal_id)
        delay = self.runtime.config.principal_propagation_seconds / self.runtime.faults.profile.time_scale
        replicating = isinstance(owner, Identity) and time.monotonic() < owner.created_at + delay
        if replicating and principal_type and self.runtime.config.principal_type_skips_lookup:
            replicating = False  # ARM takes the caller's word for the type instead of asking the directory
        missing = owner is None or replicating
        if missing:
            return (
                f"Principal {principal_id.replace('-', '')} does not exist in the directory "
                f"{self.runtime.state.tenant_id}. Check that you have the correct principal ID. If you are "
                "creating "
                "this principal and then immediately assigning a role, this error might be related to a "
                "replication delay. In this case, set the role assignment principalType property to a value, "
                "such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype"
            )
        return None

    def _role_exists(self, role: str) -> bool:
        role_id = role.rsplit("/", 1)[-1].lower()
        custom = {guid.lower() for guid in self.runtime.config.custom_role_definitions}
        return role_id in BUILT_IN_ROLES or role_id in custom

    def _parse(self, scope: str, name: str, body: dict[str, Any]) -> RoleAssignment:
        """The assignment a PUT body asks for, or a `Refusal`.

        A role definition named under a subscription must be under the scope's own subscription.
        """
        if not GUID.match(name):
            raise Refusal(
                _error(400, "InvalidRoleAssignmentId", f"The role assignment ID '{name}' is not a GUID.")
            )
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise Refusal(_error(400, "InvalidRequestFormat", "The request body must contain 'properties'."))
        role = str(properties.get("roleDefinitionId", ""))
        principal = str(properties.get("principalId", "")).lower()
        if not ROLE_DEFINITION.match(role):
            raise Refusal(
                _error(400, "InvalidRoleDefinitionId", f"The role definition ID '{role}' is not valid.")
            )
        named_under = role.split("/")[2].lower() if role.lower().startswith("/subscriptions/") else None
        scope_parts = scope.strip("/").split("/")
        scope_subscription = scope_parts[1].lower() if scope_parts[0].lower() == "subscriptions" else None
        if (named_under is not None and named_under != scope_subscription) or not self._role_exists(role):
            raise Refusal(
                _error(
                    400,
                    "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{role.rsplit('/', 1)[-1]}' does not exist.",
                )
            )
        if not GUID.match(principal):
            raise Refusal(_error(400, "InvalidPrincipalId", "A valid principal ID must be provided."))
        principal_type = properties.get("principalType")
        problem = self._principal_problem(principal, principal_type)
        if problem is not None:
            raise Refusal(_error(400, "PrincipalNotFound", problem))
        return RoleAssignment(
            name=name.lower(),
            scope=scope,
            role_definition_id=role,
            principal_id=principal,
            principal_type=str(principal_type or "ServicePrincipal"),
            created_on=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            description=properties.get("description"),
            condition=properties.get("condition"),
            condition_version=properties.get("conditionVersion"),
        )

    def _check_condition(self, call: Call, assignment: RoleAssignment, principal_type: str | None) -> None:
        """ppmi's delegation condition: only the policy's roles, only to service principals."""
        if not self._rights().condition_holds(assignment.role_definition_id, principal_type):
            ask = Ask(
                f"Microsoft.Authorization/roleAssignments/{_VERBS[call.request.method]}",
                assignment.resource_id,
            )
            raise Refusal(authorization_failed(call.caller, ask))

    async def put_assignment(self, call: Call) -> web.StreamResponse:
        scope, name = call.params.get("scope", ""), call.params["name"]
        body = await call.json_object()
        wanted = self._parse(scope, name, body)
        self._check_condition(call, wanted, (body.get("properties") or {}).get("principalType"))
        assignments = self.runtime.state.role_assignments
        existing = assignments.get(name.lower())
        if existing is not None:
            if not _same_grant(existing, wanted):
                return _error(
                    400,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                )
            return web.json_response(self.assignment_json(existing), status=201)
        if any(_same_grant(other, wanted) for other in assignments.values()):
            return _error(409, "RoleAssignmentExists", "The role assignment already exists.")
        assignments[wanted.name] = wanted
        return web.json_response(self.assignment_json(wanted), status=201)

    async def get_assignment(self, call: Call) -> web.StreamResponse:
        assignment = self.runtime.state.role_assignments.get(call.params["name"].lower())
        if assignment is None or assignment.scope.lower() != call.params.get("scope", "").lower():
            return _error(
                404, "RoleAssignmentNotFound", f"The role assignment '{call.params['name']}' is not found."
            )
        return web.json_response(self.assignment_json(assignment))

    async def delete_assignment(self, call: Call) -> web.StreamResponse:
        assignment = self.runtime.state.role_assignments.get(call.params["name"].lower())
        if assignment is None or assignment.scope.lower() != call.params.get("scope", "").lower():
            return web.Response(status=204)
        self._check_condition(call, assignment, assignment.principal_type)
        del self.runtime.state.role_assignments[assignment.name]
        return web.json_response(self.assignment_json(assignment))

    async def list_assignments(self, call: Call) -> web.StreamResponse:
        """Assignments at, above and below the scope; `principalId eq '...'` and `atScope()` narrow it."""
        scope = call.params.get("scope", "").lower()
        query_filter = call.query.get("$filter", "")
        principal = FILTER_PRINCIPAL.search(query_filter)
        at_scope = "atscope()" in query_filter.lower()
        items = []
        for assignment in self.runtime.state.role_assignments.values():
            own = assignment.scope.lower()
            related = own == scope or (
                not at_scope and (scope.startswith(own + "/") or own.startswith(scope + "/"))
            )
            if related and (principal is None or assignment.principal_id == principal.group(1).lower()):
                items.append(self.assignment_json(assignment))
        return web.json_response({"value": items})
