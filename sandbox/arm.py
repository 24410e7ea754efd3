"""Azure Resource Manager stand-in: resource groups, user-assigned managed identities and their FICs.

Shapes follow contracts/arm-msi/ (Microsoft.ManagedIdentity 2024-11-30 and its examples) and the recordings in
contracts/recordings/; api-versions `sandbox.arm_versions`; rights `sandbox.arm_access`; FIC rules
`sandbox.arm_credentials`; role assignments `sandbox.roles`; key vaults `sandbox.keyvault`. Every reply
carries ARM's request-id and `x-ms-ratelimit-remaining-subscription-*` headers
(recordings/azure-sdk-net...CreateOrUpdate.json).
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from aiohttp import web

from sandbox.arm_access import ArmRights, Ask, authorization_failed
from sandbox.arm_credentials import (
    IDENTITY_TYPE,
    CredentialWrites,
    credential_missing,
    fic_json,
    parent_missing,
)
from sandbox.arm_permissions import PERMISSIONS as PERMISSIONS_PATH
from sandbox.arm_permissions import canonical_scope, permissions_json
from sandbox.arm_versions import (
    FEDERATED_CREDENTIALS,
    IDENTITIES,
    PERMISSIONS,
    RESOURCE_GROUPS,
    ROLE_ASSIGNMENTS,
    ResourceType,
    api_version_refusal,
)
from sandbox.errors import error_response
from sandbox.exchanges import record as record_exchange
from sandbox.keyvault import VAULT_ACCESS_POLICIES, VAULT_TYPE, VAULTS, KeyVaults
from sandbox.resource_groups import GROUP, ResourceGroups, group_missing
from sandbox.roles import RoleAssignments
from sandbox.routing import Call, Refusal, Route, StandIn
from sandbox.runtime import Runtime
from sandbox.state import Identity

IDENTITY_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
IDENTITIES_PATH = GROUP + r"/providers/Microsoft\.ManagedIdentity/userAssignedIdentities"
IDENTITY = IDENTITIES_PATH + r"/(?P<name>[^/]+)"
FICS = IDENTITY + r"/federatedIdentityCredentials"
FIC = FICS + r"/(?P<fic>[^/]+)"
# IsolationScope is an extensible enum (x-ms-enum modelAsString) in ManagedIdentity-2024-11-30.
ISOLATION_SCOPES = frozenset({"None", "Regional"})
ACTION_VERBS = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}


def arm_error(status: int, code: str, message: str) -> web.Response:
    return error_response("arm", status, code, message)


def page(call: Call, items: list[dict[str, Any]], size: int) -> web.Response:
    """One page of a list reply; `nextLink` keeps the caller's host so IP-literal clients can follow it.

    ARM's query parameter names are case-insensitive: the spec examples spell the token `$skipToken`
    (FederatedIdentityCredentialList.json) and `$skiptoken` (IdentityListByResourceGroup.json).
    """
    tokens = [value for key, value in call.query.items() if key.lower() == "$skiptoken"]
    token = tokens[0] if tokens else "0"
    if not token.isdigit():
        raise Refusal(arm_error(400, "InvalidSkipToken", f"The skip token '{token}' is not valid."))
    start = int(token)
    body: dict[str, Any] = {"value": items[start : start + size]}
    if start + size < len(items):
        url = call.request.url.with_scheme("https").update_query({"$skipToken": str(start + size)})
        body["nextLink"] = str(url)
    return web.json_response(body)


def _kind(path: str) -> ResourceType:
    lowered = path.lower()
    if lowered.endswith("/providers/microsoft.authorization/permissions"):
        return PERMISSIONS
    if "/providers/microsoft.authorization/roleassignments" in lowered:
        return ROLE_ASSIGNMENTS
    if "/federatedidentitycredentials" in lowered:
        return FEDERATED_CREDENTIALS
    if "/providers/microsoft.managedidentity/" in lowered:
        return IDENTITIES
    if "/providers/microsoft.keyvault/vaults/" in lowered:
        return VAULT_ACCESS_POLICIES if "/accesspolicies/" in lowered else VAULTS
    return RESOURCE_GROUPS


def _ask(call: Call, kind: ResourceType) -> Ask:
    verb = ACTION_VERBS.get(call.request.method, "write")
    actions = {
        ROLE_ASSIGNMENTS.name: "Microsoft.Authorization/roleAssignments",
        PERMISSIONS.name: "Microsoft.Authorization/permissions",
        FEDERATED_CREDENTIALS.name: f"{IDENTITY_TYPE}/federatedIdentityCredentials",
        IDENTITIES.name: IDENTITY_TYPE,
        RESOURCE_GROUPS.name: "Microsoft.Resources/subscriptions/resourceGroups",
        VAULTS.name: VAULT_TYPE,
        VAULT_ACCESS_POLICIES.name: f"{VAULT_TYPE}/accessPolicies",
    }
    return Ask(f"{actions[kind.name]}/{verb}", call.request.path.rstrip("/"))


class Arm(StandIn):
    name = "arm"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(ignore_case=True)
        self.runtime = runtime
        self.roles = RoleAssignments(runtime)
        self.credentials = CredentialWrites(runtime)
        self.vaults = KeyVaults(runtime)
        add = self.router.add
        add(
            "GET",
            r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.ManagedIdentity/userAssignedIdentities",
            self.list_identities,
            "list",
        )
        add("GET", IDENTITIES_PATH, self.list_identities, "list")
        for method, pattern, handler in (
            ("PUT", IDENTITY, self.put_identity),
            ("PATCH", IDENTITY, self.patch_identity),
            ("GET", IDENTITY, self.get_identity),
            ("DELETE", IDENTITY, self.delete_identity),
            ("GET", FICS, self.list_fics),
            ("PUT", FIC, self.put_fic),
            ("GET", FIC, self.get_fic),
            ("DELETE", FIC, self.delete_fic),
        ):
            add(method, pattern, handler, "list" if pattern == FICS else "")
        add("GET", PERMISSIONS_PATH, self.list_permissions, "list")
        self.roles.register(self.router)
        ResourceGroups(runtime).register(self.router)
        self.vaults.register(self.router)

    def audiences(self, host: str) -> set[str] | None:
        return {"https://management.azure.com", "https://management.core.windows.net"}

    @property
    def rights(self) -> ArmRights:
        state = self.runtime.state
        return ArmRights(
            self.runtime.config.arm_access, state.subscription_id, state.service_identity.principal_id
        )

    async def admit(self, call: Call, route: Route) -> web.StreamResponse | None:
        """In ARM's order: api-version, subscription, rights, resource group, then the throttles."""
        state = self.runtime.state
        kind = _kind(call.request.path)
        subscription = call.params.get("sub") or state.subscription_id
        group = state.resource_group(subscription, call.params.get("rg", ""))
        location = group.location if group is not None else "westeurope"
        refused = api_version_refusal(call.query.get("api-version"), kind, location)
        if refused is not None:
            return refused
        if subscription.lower() != state.subscription_id:
            return arm_error(
                404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
            )
        ask = _ask(call, kind)
        if kind is not PERMISSIONS and not self.rights.allows(call.caller, ask):
            return authorization_failed(call.caller, ask)
        if "rg" in call.params and group is None and kind is not RESOURCE_GROUPS:
            return group_missing(call.params["rg"])
        return self._throttle(call, route, subscription, provider=kind in (IDENTITIES, FEDERATED_CREDENTIALS))

    def _throttle(
        self, call: Call, route: Route, subscription: str, *, provider: bool
    ) -> web.StreamResponse | None:
        # A list of a resource group's or subscription's identities is a subscription-level list: it is
        # charged to the tenant and subscription buckets only, never to one identity's.
        name = call.params.get("name")
        identity_key = f"{subscription}/{call.params.get('rg', '')}/{name}".lower() if name else None
        faults = self.runtime.faults.profile
        throttled, kind, remaining = self.runtime.arm_throttle.admit(
            subscription=subscription,
            operation=route.operation,
            provider=provider,
            identity_key=identity_key,
            enforce=faults.rate_limits,
            time_scale=faults.time_scale,
        )
        call.facts["ratelimit"] = (kind, remaining)
        if throttled is not None:
            response = arm_error(429, throttled.code, throttled.message)
            response.headers["Retry-After"] = throttled.retry_after
            return response
        return None

    def finish(self, call: Call, route: Route, response: web.StreamResponse, elapsed: float) -> None:
        if "ratelimit" in call.facts:
            kind, remaining = call.facts["ratelimit"]
            response.headers[f"x-ms-ratelimit-remaining-subscription-{kind}"] = str(remaining)
        request_id = str(uuid.uuid4())
        response.headers["x-ms-request-id"] = request_id
        response.headers["x-ms-correlation-request-id"] = call.request.headers.get(
            "x-ms-correlation-request-id", request_id
        )
        record_exchange(self.runtime, self.name, call, response)

    async def list_permissions(self, call: Call) -> web.StreamResponse:
        """What the caller may do at the scope (`sandbox.arm_permissions`)."""
        config = self.runtime.config
        grants = self.rights.grants(call.caller, canonical_scope(call.params.get("scope", "")))
        items = permissions_json(
            grants,
            report_conditions=config.permissions_report_conditions,
            granted_roles=config.arm_access.granted_role_definition_ids,
        )
        return page(call, items, config.arm_page_size)

    # -- identities -------------------------------------------------------------------------------------

    def _identity(self, call: Call) -> Identity | None:
        key = f"{call.params['sub']}/{call.params['rg']}/{call.params['name']}".lower()
        return self.runtime.state.identities.get(key)

    @staticmethod
    def identity_json(identity: Identity) -> dict[str, Any]:
        return {
            "id": identity.resource_id,
            "name": identity.name,
            "type": IDENTITY_TYPE,
            "location": identity.location,
            "tags": dict(identity.tags),
            "properties": {
                "tenantId": identity.tenant_id,
                "principalId": identity.principal_id,
                "clientId": identity.client_id,
                "isolationScope": identity.isolation_scope,
            },
        }

    @staticmethod
    def _isolation_scope(body: dict[str, Any]) -> str | None:
        properties = body.get("properties") or {}
        scope = properties.get("isolationScope") if isinstance(properties, dict) else None
        if scope is not None and scope not in ISOLATION_SCOPES:
            raise Refusal(arm_error(400, "InvalidIsolationScope", f"'{scope}' is not an isolation scope."))
        return None if scope is None else str(scope)

    @staticmethod
    def _tags(body: dict[str, Any]) -> dict[str, str]:
        tags = body.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise Refusal(arm_error(400, "InvalidTag", "Tags must be an object of string values."))
        return {str(k): v for k, v in tags.items()}

    async def put_identity(self, call: Call) -> web.StreamResponse:
        """PUT replaces the whole resource (IdentityCreate.json): what the body leaves out is reset."""
        state = self.runtime.state
        name = call.params["name"]
        if not IDENTITY_NAME.match(name):
            return arm_error(
                400,
                "InvalidResourceName",
                f"Resource name {name} is invalid. The name can be 3-128 characters long, start with a "
                "letter or number, and contain only letters, numbers, hyphens and underscores.",
            )
        body = await call.json_object()
        location = str(body.get("location") or "").replace(" ", "").lower()
        if not location:
            return arm_error(
                400, "LocationRequired", "The location property is required for this definition."
            )
        tags, scope = self._tags(body), self._isolation_scope(body) or "None"
        existing = self._identity(call)
        if existing is not None:
            if existing.location != location:
                return arm_error(
                    400,
                    "InvalidResourceLocation",
                    f"The resource '{name}' already exists in location '{existing.location}' in resource "
                    f"group '{existing.resource_group}'. A resource with the same name cannot be created in "
                    f"location '{location}'. Please select a new resource name.",
                )
            existing.tags, existing.isolation_scope = tags, scope
            return web.json_response(self.identity_json(existing), status=200)
        identity = Identity(
            subscription_id=state.subscription_id,
            resource_group=call.params["rg"],
            name=name,
            location=location,
            tags=tags,
            client_id=state.new_id(),
            principal_id=state.new_id(),
            tenant_id=state.tenant_id,
            created_at=time.monotonic(),
            isolation_scope=scope,
        )
        state.identities[f"{call.params['sub']}/{call.params['rg']}/{name}".lower()] = identity
        response = web.json_response(self.identity_json(identity), status=201)
        response.headers["Location"] = str(call.request.url.with_scheme("https"))
        return response

    async def patch_identity(self, call: Call) -> web.StreamResponse:
        """PATCH changes only what the body names (IdentityUpdate.json); `tags` replaces the tag set."""
        identity = self._identity(call)
        if identity is None:
            return self._identity_missing(call)
        body = await call.json_object()
        if "tags" in body:
            identity.tags = self._tags(body)
        identity.isolation_scope = self._isolation_scope(body) or identity.isolation_scope
        return web.json_response(self.identity_json(identity))

    def _identity_missing(self, call: Call) -> web.Response:
        return arm_error(
            404,
            "ResourceNotFound",
            f"The Resource '{IDENTITY_TYPE}/{call.params['name']}' under resource group "
            f"'{call.params['rg']}' was not found.",
        )

    async def get_identity(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._identity_missing(call)
        return web.json_response(self.identity_json(identity))

    async def delete_identity(self, call: Call) -> web.StreamResponse:
        """200 with an empty body when it existed, 204 when not (IdentityDelete.json; the recording
        recordings/azure-sdk-net.UserAssignedIdentityOperationTests.Delete.DELETE-only.json)."""
        key = f"{call.params['sub']}/{call.params['rg']}/{call.params['name']}".lower()
        if self.runtime.state.identities.pop(key, None) is None:
            return web.Response(status=204)
        return web.Response(status=200)

    async def list_identities(self, call: Call) -> web.StreamResponse:
        group = call.params.get("rg", "").lower()
        items = [
            self.identity_json(identity)
            for identity in self.runtime.state.identities.values()
            if not group or identity.resource_group.lower() == group
        ]
        return page(call, items, self.runtime.config.arm_page_size)

    # -- federated identity credentials -----------------------------------------------------------------

    async def list_fics(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return parent_missing()
        items = [fic_json(identity, fic) for fic in identity.fics.values()]
        return page(call, items, self.runtime.config.arm_page_size)

    async def get_fic(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return parent_missing()
        fic = identity.fics.get(call.params["fic"].lower())
        if fic is None:
            return credential_missing(identity, call.params["fic"])
        return web.json_response(fic_json(identity, fic))

    async def put_fic(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        return parent_missing() if identity is None else await self.credentials.put(identity, call)

    async def delete_fic(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        return parent_missing() if identity is None else await self.credentials.delete(identity, call)
