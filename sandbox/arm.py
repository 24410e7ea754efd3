"""Azure Resource Manager stand-in: user-assigned managed identities and their federated credentials.

Rules from domain.md §4: name patterns, one audience, 600-character values, 20 FICs per identity, unique
issuer+subject, 409 on overlapping FIC writes under one identity, paging with `nextLink`, throttling.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from aiohttp import web

from sandbox.errors import error_response
from sandbox.roles import RoleAssignments
from sandbox.routing import Call, Refusal, Route, StandIn
from sandbox.runtime import Runtime
from sandbox.state import FederatedCredential, Identity

MSI_API_VERSIONS = ("2024-11-30", "2023-01-31")
IDENTITY_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$")
FIC_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$")
FIC_MAX = 20
FIC_VALUE_MAX = 600
FIC_UNSUPPORTED_REGIONS = frozenset({"malaysiasouth", "newzealandnorth"})
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
RG = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.ManagedIdentity"
IDENTITIES = RG + r"/userAssignedIdentities"
IDENTITY = IDENTITIES + r"/(?P<name>[^/]+)"
FICS = IDENTITY + r"/federatedIdentityCredentials"
FIC = FICS + r"/(?P<fic>[^/]+)"


def arm_error(status: int, code: str, message: str) -> web.Response:
    return error_response("arm", status, code, message)


def api_version_error(call: Call, accepted: tuple[str, ...]) -> web.Response | None:
    version = call.query.get("api-version")
    if not version:
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if version not in accepted:
        return arm_error(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{','.join(accepted)}'.",
        )
    return None


def page(call: Call, items: list[dict[str, Any]], size: int) -> web.Response:
    """One page of a list reply; `nextLink` keeps the caller's host so IP-literal clients can follow it."""
    token = call.query.get("$skipToken", "0") or "0"
    if not token.isdigit():
        raise Refusal(arm_error(400, "InvalidSkipToken", f"The skip token '{token}' is not valid."))
    start = int(token)
    body: dict[str, Any] = {"value": items[start : start + size]}
    if start + size < len(items):
        url = call.request.url.with_scheme("https").update_query({"$skipToken": str(start + size)})
        body["nextLink"] = str(url)
    return web.json_response(body)


class Arm(StandIn):
    name = "arm"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(ignore_case=True)
        self.runtime = runtime
        self.roles = RoleAssignments(runtime)
        add = self.router.add
        add(
            "GET",
            r"/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.ManagedIdentity/userAssignedIdentities",
            self.list_identities,
            "list",
            MSI_API_VERSIONS,
        )
        add("GET", IDENTITIES, self.list_identities, "list", MSI_API_VERSIONS)
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
            add(method, pattern, handler, "list" if pattern == FICS else "", MSI_API_VERSIONS)
        self.roles.register(self.router)

    def audiences(self, host: str) -> set[str] | None:
        return {"https://management.azure.com", "https://management.core.windows.net"}

    async def admit(self, call: Call, route: Route) -> web.StreamResponse | None:
        state = self.runtime.state
        is_roles = route.api_versions != MSI_API_VERSIONS
        refused = api_version_error(call, route.api_versions)
        if refused is not None:
            return refused
        subscription = call.params.get("sub") or state.subscription_id
        if subscription.lower() != state.subscription_id:
            return arm_error(
                404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found."
            )
        # A list of a resource group's or subscription's identities is a subscription-level list: it is
        # charged to the tenant and subscription buckets only, never to one identity's.
        name = call.params.get("name")
        identity_key = f"{subscription}/{call.params.get('rg', '')}/{name}".lower() if name else None
        faults = self.runtime.faults.profile
        throttled, kind, remaining = self.runtime.arm_throttle.admit(
            subscription=subscription,
            operation=route.operation,
            provider=not is_roles,
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
                "isolationScope": "None",
            },
        }

    async def put_identity(self, call: Call) -> web.StreamResponse:
        state = self.runtime.state
        name = call.params["name"]
        if not IDENTITY_NAME.match(name):
            return arm_error(
                400,
                "InvalidResourceName",
                f"Resource name {name} is invalid. The name can be 3-128 characters long, start with a "
                "letter or "
                "number, and contain only letters, numbers, hyphens and underscores.",
            )
        body = await call.json_object()
        location = str(body.get("location") or "").replace(" ", "").lower()
        if not location:
            return arm_error(
                400, "LocationRequired", "The location property is required for this definition."
            )
        tags = body.get("tags") or {}
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            return arm_error(400, "InvalidTag", "Tags must be an object of string values.")
        existing = self._identity(call)
        if existing is not None:
            if existing.location != location:
                return arm_error(
                    400,
                    "InvalidResourceLocation",
                    f"The resource '{name}' already exists in location '{existing.location}' in resource "
                    f"group '{existing.resource_group}'. A resource with the same name cannot be created in "
                    "location "
                    f"'{location}'. Please select a new resource name.",
                )
            existing.tags = dict(tags)
            return web.json_response(self.identity_json(existing), status=200)
        identity = Identity(
            subscription_id=state.subscription_id,
            resource_group=call.params["rg"],
            name=name,
            location=location,
            tags=dict(tags),
            client_id=state.new_id(),
            principal_id=state.new_id(),
            tenant_id=state.tenant_id,
            created_at=time.monotonic(),
        )
        state.identities[f"{call.params['sub']}/{call.params['rg']}/{name}".lower()] = identity
        return web.json_response(self.identity_json(identity), status=201)

    async def patch_identity(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._identity_missing(call)
        body = await call.json_object()
        if isinstance(body.get("tags"), dict):
            identity.tags = {str(k): str(v) for k, v in body["tags"].items()}
        return web.json_response(self.identity_json(identity))

    def _identity_missing(self, call: Call) -> web.Response:
        return arm_error(
            404,
            "ResourceNotFound",
            f"The Resource '{IDENTITY_TYPE}/{call.params['name']}' under resource group "
            f"'{call.params['rg']}' "
            "was not found.",
        )

    async def get_identity(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._identity_missing(call)
        return web.json_response(self.identity_json(identity))

    async def delete_identity(self, call: Call) -> web.StreamResponse:
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

    def _parent_missing(self, call: Call) -> web.Response:
        return arm_error(
            404,
            "ParentResourceNotFound",
            f"Failed to perform the operation on '{IDENTITY_TYPE}/federatedIdentityCredentials' "
            "because parent "
            f"resource '{IDENTITY_TYPE}/{call.params['name']}' could not be found.",
        )

    @staticmethod
    def fic_json(identity: Identity, fic: FederatedCredential) -> dict[str, Any]:
        return {
            "id": f"{identity.resource_id}/federatedIdentityCredentials/{fic.name}",
            "name": fic.name,
            "type": f"{IDENTITY_TYPE}/federatedIdentityCredentials",
            "properties": {"issuer": fic.issuer, "subject": fic.subject, "audiences": list(fic.audiences)},
        }

    async def list_fics(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._parent_missing(call)
        items = [self.fic_json(identity, fic) for fic in identity.fics.values()]
        return page(call, items, self.runtime.config.arm_page_size)

    async def get_fic(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._parent_missing(call)
        fic = identity.fics.get(call.params["fic"].lower())
        if fic is None:
            return arm_error(
                404,
                "ResourceNotFound",
                f"The Resource '{IDENTITY_TYPE}/{identity.name}/federatedIdentityCredentials/"
                f"{call.params['fic']}' "
                f"under resource group '{identity.resource_group}' was not found.",
            )
        return web.json_response(self.fic_json(identity, fic))

    async def _hold(self, identity: Identity) -> web.Response | None:
        """Serialise FIC writes per identity the way Azure does: an overlapping write is refused with 409."""
        now = time.monotonic()
        if now < identity.busy_until:
            return arm_error(
                409,
                "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                "Too many Federated Identity Credentials are written concurrently for the managed identity "
                f"'{identity.resource_id}'. Concurrent Federated Identity Credentials writes under the same "
                "managed identity are not supported.",
            )
        hold = self.runtime.config.fic_write_hold_seconds / self.runtime.faults.profile.time_scale
        identity.busy_until = now + hold
        await asyncio.sleep(hold)
        return None

    async def put_fic(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._parent_missing(call)
        name = call.params["fic"]
        body = await call.json_object()
        properties = body.get("properties")
        try:
            check_credential(name, properties, identity.fics)
        except InvalidCredential as invalid:
            return arm_error(400, "BadRequest", str(invalid))
        if identity.location in FIC_UNSUPPORTED_REGIONS:
            return arm_error(
                400,
                "BadRequest",
                f"Federated Identity Credentials are not supported for managed identities in region "
                f"'{identity.location}'.",
            )
        busy = await self._hold(identity)
        if busy is not None:
            return busy
        assert isinstance(properties, dict)
        fic = FederatedCredential(
            name=name,
            issuer=properties["issuer"],
            subject=properties["subject"],
            audiences=list(properties["audiences"]),
        )
        created = name.lower() not in identity.fics
        identity.fics[name.lower()] = fic
        return web.json_response(self.fic_json(identity, fic), status=201 if created else 200)

    async def delete_fic(self, call: Call) -> web.StreamResponse:
        identity = self._identity(call)
        if identity is None:
            return self._parent_missing(call)
        if call.params["fic"].lower() not in identity.fics:
            return web.Response(status=204)
        busy = await self._hold(identity)
        if busy is not None:
            return busy
        identity.fics.pop(call.params["fic"].lower(), None)
        return web.Response(status=200)


class InvalidCredential(ValueError):
    """A federated credential that Azure would refuse with 400."""


def check_credential(name: str, properties: Any, existing: dict[str, FederatedCredential]) -> None:
    """Raise `InvalidCredential` for what ARM and Graph refuse: name, shape, length, duplicates, cap."""
    if not FIC_NAME.match(name):
        raise InvalidCredential(
            f"Federated Identity Credential name '{name}' must match '{FIC_NAME.pattern}'."
        )
    if not isinstance(properties, dict):
        raise InvalidCredential(
            "The request body must contain 'properties' with issuer, subject and audiences."
        )
    issuer, subject, audiences = (properties.get(k) for k in ("issuer", "subject", "audiences"))
    if not isinstance(issuer, str) or not issuer.startswith("https://"):
        raise InvalidCredential("The issuer must be an https URL.")
    if not isinstance(subject, str) or not subject:
        raise InvalidCredential("The subject is required.")
    if not isinstance(audiences, list) or len(audiences) != 1 or not isinstance(audiences[0], str):
        raise InvalidCredential("Exactly one audience must be provided.")
    for label, value in (("issuer", issuer), ("subject", subject), ("audience", audiences[0])):
        if len(value) > FIC_VALUE_MAX:
            raise InvalidCredential(f"The {label} cannot be longer than {FIC_VALUE_MAX} characters.")
        if "*" in value:
            raise InvalidCredential(f"The {label} cannot contain wildcards.")
    for key, other in existing.items():
        if key != name.lower() and other.issuer == issuer and other.subject == subject:
            raise InvalidCredential(
                "Issuer and subject combination already exists for this Managed Identity."
            )
    if name.lower() not in existing and len(existing) >= FIC_MAX:
        raise InvalidCredential(
            f"Too many Federated Identity Credentials. The maximum of {FIC_MAX} federated identity "
            "credentials "
            "per managed identity or application has been reached."
        )
