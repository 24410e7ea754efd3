"""ARM role assignments: deterministic names, `RoleAssignmentExists`, and `PrincipalNotFound` while a new
identity's principal is still replicating."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandbox.errors import error_response
from sandbox.routing import Call, Refusal, Router
from sandbox.runtime import Runtime
from sandbox.state import Identity, RoleAssignment

ROLE_API_VERSIONS = ("2022-04-01",)
SCOPE = r"(?P<scope>(?:/[^/]+)*?)/providers/Microsoft\.Authorization/roleAssignments"
ASSIGNMENT = SCOPE + r"/(?P<name>[^/]+)"
ROLE_DEFINITION = re.compile(
    r"^(?:/subscriptions/[^/]+)?/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-fA-F-]{36}$",
    re.IGNORECASE,
)
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
FILTER_PRINCIPAL = re.compile(r"principalId\s+eq\s+'([^']+)'", re.IGNORECASE)


def _error(status: int, code: str, message: str) -> web.Response:
    return error_response("arm", status, code, message)


class RoleAssignments:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def register(self, router: Router) -> None:
        router.add("GET", SCOPE, self.list_assignments, "list", ROLE_API_VERSIONS)
        router.add("PUT", ASSIGNMENT, self.put_assignment, api_versions=ROLE_API_VERSIONS)
        router.add("GET", ASSIGNMENT, self.get_assignment, api_versions=ROLE_API_VERSIONS)
        router.add("DELETE", ASSIGNMENT, self.delete_assignment, api_versions=ROLE_API_VERSIONS)

    @staticmethod
    def assignment_json(assignment: RoleAssignment) -> dict[str, Any]:
        return {
            "id": assignment.resource_id,
            "name": assignment.name,
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": assignment.role_definition_id,
                "principalId": assignment.principal_id,
                "principalType": assignment.principal_type,
                "scope": assignment.scope,
                "condition": None,
                "conditionVersion": None,
                "createdOn": assignment.created_on,
                "updatedOn": assignment.created_on,
            },
        }

    def _principal_problem(self, principal_id: str) -> str | None:
        owner = self.runtime.state.known_principal(principal_id)
        delay = self.runtime.config.principal_propagation_seconds / self.runtime.faults.profile.time_scale
        missing = owner is None or (
            isinstance(owner, Identity) and time.monotonic() < owner.created_at + delay
        )
        if missing:
            return (
                f"Principal {principal_id.replace('-', '')} does not exist in the directory "
                f"{self.runtime.state.tenant_id}. Check that you have the correct principal ID. If you are "
                "creating "
                "this principal and then immediately assigning a role, this error might be related to a "
                "replication delay. In this case, set the role assignment principalType property to a value, "
                "such as ServicePrincipal, User, or Group. See https://aka.ms/docs-principaltype"
            )
        return None

    def _parse(self, scope: str, name: str, body: dict[str, Any]) -> tuple[str, str, str]:
        """(roleDefinitionId, principalId, principalType) from a PUT body, or a `Refusal`.

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
        if named_under is not None and named_under != scope_subscription:
            raise Refusal(
                _error(
                    400,
                    "RoleDefinitionDoesNotExist",
                    f"The specified role definition with ID '{role.rsplit('/', 1)[-1]}' does not exist.",
                )
            )
        if not GUID.match(principal):
            raise Refusal(_error(400, "InvalidPrincipalId", "A valid principal ID must be provided."))
        problem = self._principal_problem(principal)
        if problem is not None:
            raise Refusal(_error(400, "PrincipalNotFound", problem))
        return role, principal, str(properties.get("principalType") or "ServicePrincipal")

    async def put_assignment(self, call: Call) -> web.StreamResponse:
        scope, name = call.params.get("scope", ""), call.params["name"]
        role, principal, principal_type = self._parse(scope, name, await call.json_object())
        assignments = self.runtime.state.role_assignments
        existing = assignments.get(name.lower())
        role_id = role.rsplit("/", 1)[-1].lower()
        if existing is not None:
            same = (
                existing.scope.lower() == scope.lower()
                and existing.principal_id == principal
                and existing.role_definition_id.rsplit("/", 1)[-1].lower() == role_id
            )
            if not same:
                return _error(
                    400,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                )
            return web.json_response(self.assignment_json(existing), status=201)
        for other in assignments.values():
            if (
                other.scope.lower() == scope.lower()
                and other.principal_id == principal
                and other.role_definition_id.rsplit("/", 1)[-1].lower() == role_id
            ):
                return _error(409, "RoleAssignmentExists", "The role assignment already exists.")
        assignment = RoleAssignment(
            name=name.lower(),
            scope=scope,
            role_definition_id=role,
            principal_id=principal,
            principal_type=principal_type,
            created_on=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        )
        assignments[name.lower()] = assignment
        return web.json_response(self.assignment_json(assignment), status=201)

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
