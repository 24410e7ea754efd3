"""Microsoft Graph stand-in: federated identity credentials on app registrations (domain.md §5)."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp import web

from sandbox.arm_credentials import InvalidCredential, check_credential
from sandbox.errors import error_response
from sandbox.odata import GUID_TEXT
from sandbox.routing import Call, StandIn
from sandbox.runtime import Runtime
from sandbox.state import Application, FederatedCredential

APP = rf"/(?:v1\.0|beta)/applications(?:/(?P<oid>{GUID_TEXT})|\(appId='(?P<appid>{GUID_TEXT})'\))"
FICS = APP + r"/federatedIdentityCredentials"
APP_ID_FILTER = re.compile(rf"appId\s+eq\s+'(?P<appid>{GUID_TEXT})'", re.IGNORECASE)
# By ID or name as a path segment for GET, PATCH and DELETE (contracts/graph/api_federatedidentitycredential-
# get.md, -update.md, -delete.md); `(name='…')` only for the PATCH upsert (…-upsert.md).
FIC = FICS + r"/(?P<fid>[^/(]+)"
FIC_BY_NAME_KEY = FICS + r"\(name='(?P<fname>(?:[^']|'')+)'\)"


def graph_error(status: int, code: str, message: str) -> web.Response:
    return error_response("graph", status, code, message)


class Graph(StandIn):
    name = "graph"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        add = self.router.add
        add("GET", r"/(?:v1\.0|beta)/applications", self.list_applications, "list")
        add("GET", APP, self.get_application)
        add("PATCH", APP, self.update_application)
        add(
            "GET",
            rf"/(?:v1\.0|beta)/servicePrincipals\(appId='(?P<appid>{GUID_TEXT})'\)",
            self.get_service_principal,
        )
        add("GET", FICS, self.list_fics, "list")
        add("POST", FICS, self.create_fic)
        add("GET", FIC, self.get_fic)
        add("PATCH", FIC, self.upsert_fic)
        add("DELETE", FIC, self.delete_fic)
        add("PATCH", FIC_BY_NAME_KEY, self.upsert_fic)
        add("GET", FIC_BY_NAME_KEY, self.undocumented_addressing)
        add("DELETE", FIC_BY_NAME_KEY, self.undocumented_addressing)

    def audiences(self, host: str) -> set[str] | None:
        return {"https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"}

    def _application(self, call: Call) -> Application | None:
        apps = self.runtime.state.applications.values()
        if "oid" in call.params:
            return next((a for a in apps if a.object_id == call.params["oid"].lower()), None)
        return next((a for a in apps if a.app_id == call.params["appid"].lower()), None)

    def _app_missing(self, call: Call) -> web.Response:
        which = call.params.get("oid") or call.params.get("appid")
        return graph_error(
            404,
            "Request_ResourceNotFound",
            f"Resource '{which}' does not exist or one of its queried "
            "reference-property objects are not present.",
        )

    @staticmethod
    def _fic_json(application: Application, fic: FederatedCredential) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications"
            f"('{application.object_id}')/federatedIdentityCredentials/$entity",
            "id": fic.id,
            "name": fic.name,
            "issuer": fic.issuer,
            "subject": fic.subject,
            "description": fic.description,
            "audiences": list(fic.audiences),
        }

    def _find(self, application: Application, call: Call) -> FederatedCredential | None:
        wanted = (call.params.get("fname") or "").replace("''", "'") or call.params.get("fid") or ""
        wanted = wanted.lower()
        return next(
            (f for f in application.fics.values() if f.name.lower() == wanted or f.id == wanted), None
        )

    async def _hold(self, application: Application) -> web.Response | None:
        """Overlapping directory writes on one application are refused, as Entra does."""
        now = time.monotonic()
        if now < application.busy_until:
            return graph_error(
                409,
                "Directory_ConcurrencyViolation",
                "Another concurrent write request to this application is in progress. Retry the request.",
            )
        hold = self.runtime.config.fic_write_hold_seconds / self.runtime.faults.profile.time_scale
        application.busy_until = now + hold
        await asyncio.sleep(hold)
        return None

    @staticmethod
    def _application_json(application: Application) -> dict[str, Any]:
        return {
            "id": application.object_id,
            "appId": application.app_id,
            "displayName": application.display_name,
        }

    async def list_applications(self, call: Call) -> web.StreamResponse:
        """`$filter=appId eq '<guid>'` is the one filter clients need to find an object ID."""
        wanted = APP_ID_FILTER.fullmatch(call.query.get("$filter", "").strip())
        if "$filter" in call.query and wanted is None:
            return graph_error(
                400, "Request_UnsupportedQuery", "Only $filter=appId eq '<guid>' is supported."
            )
        items = [
            self._application_json(a)
            for a in self.runtime.state.applications.values()
            if wanted is None or a.app_id == wanted["appid"].lower()
        ]
        return web.json_response(
            {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#applications", "value": items}
        )

    async def get_service_principal(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        return web.json_response(
            {
                "id": application.service_principal_id,
                "appId": application.app_id,
                "displayName": application.display_name,
                "servicePrincipalType": "Application",
            }
        )

    async def get_application(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        body: dict[str, Any] = {
            "id": application.object_id,
            "appId": application.app_id,
            "displayName": application.display_name,
            # contracts/graph/resources_webapplication.md
            "web": {
                "homePageUrl": None,
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
                "logoutUrl": None,
                "redirectUris": list(application.redirect_uris),
            },
        }
        selected = {name.strip() for name in call.query.get("$select", "").split(",") if name.strip()}
        if selected:
            body = {key: value for key, value in body.items() if key in selected or key == "id"}
        return web.json_response(body)

    async def update_application(self, call: Call) -> web.StreamResponse:
        """PATCH /applications/{id} → 204 (contracts/graph/api_application-update.excerpt.md). The sandbox
        models `web.redirectUris` and `displayName`; it refuses what it does not model, not ignores it."""
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        body = await call.json_object()
        unmodelled = set(body) - {"web", "displayName"}
        web_body = body.get("web", {})
        if unmodelled or not isinstance(web_body, dict) or set(web_body) - {"redirectUris"}:
            return graph_error(
                400, "Request_BadRequest", "The sandbox models web.redirectUris and displayName."
            )
        if "redirectUris" in web_body:
            problem = redirect_uris_problem(web_body["redirectUris"])
            if problem is not None:
                return graph_error(400, "Request_BadRequest", problem)
            busy = await self._hold(application)
            if busy is not None:
                return busy
            application.redirect_uris = list(web_body["redirectUris"])
        if isinstance(body.get("displayName"), str):
            application.display_name = body["displayName"]
        return web.Response(status=204)

    async def list_fics(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        items = [self._fic_json(application, f) for f in application.fics.values()]
        for item in items:
            item.pop("@odata.context")
        context = f"https://graph.microsoft.com/v1.0/$metadata#applications('{application.object_id}')"
        return web.json_response(
            {"@odata.context": context + "/federatedIdentityCredentials", "value": items}
        )

    async def get_fic(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        fic = self._find(application, call)
        if fic is None:
            return graph_error(
                404, "Request_ResourceNotFound", "The federated identity credential does not exist."
            )
        return web.json_response(self._fic_json(application, fic))

    async def _write(
        self, application: Application, name: str, body: dict[str, Any], status: int
    ) -> web.Response:
        try:
            check_credential(name, body, application.fics)
        except InvalidCredential as invalid:
            return graph_error(400, "Request_BadRequest", str(invalid))
        busy = await self._hold(application)
        if busy is not None:
            return busy
        existing = application.fics.get(name.lower())
        fic = FederatedCredential(
            name=name,
            issuer=body["issuer"],
            subject=body["subject"],
            audiences=list(body["audiences"]),
            id=existing.id if existing is not None else self.runtime.state.new_id(),
            description=body.get("description"),
        )
        application.fics[name.lower()] = fic
        if status == 204:
            return web.Response(status=204)
        return web.json_response(self._fic_json(application, fic), status=status)

    async def create_fic(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        body = await call.json_object()
        name = str(body.get("name") or "")
        if name.lower() in application.fics:
            return graph_error(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                f"FederatedIdentityCredential with name {name} already exists.",
            )
        return await self._write(application, name, body, 201)

    async def upsert_fic(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        body = await call.json_object()
        existing = self._find(application, call)
        # Without `Prefer: create-if-missing` Graph treats the PATCH as an update of an existing object.
        creates = "create-if-missing" in call.request.headers.get("Prefer", "").lower()
        if existing is None and ("fname" not in call.params or not creates):
            return graph_error(
                404, "Request_ResourceNotFound", "The federated identity credential does not exist."
            )
        name = existing.name if existing is not None else call.params["fname"].replace("''", "'")
        if "name" in body and body["name"] != name:
            return graph_error(
                400, "Request_BadRequest", "The name of a federated identity credential is immutable."
            )
        merged: dict[str, Any] = {}
        if existing is not None:
            merged = {
                "issuer": existing.issuer,
                "subject": existing.subject,
                "audiences": existing.audiences,
                "description": existing.description,
            }
        merged.update(body)
        return await self._write(application, name, merged, 204 if existing is not None else 201)

    async def undocumented_addressing(self, call: Call) -> web.StreamResponse:
        """Graph documents `(name='…')` for the upsert only; GET and DELETE take `/{id or name}` (UNCONFIRMED
        reply: status and code are the sandbox's choice)."""
        return graph_error(
            400,
            "BadRequest",
            f"{call.request.method} federatedIdentityCredentials(name='…') is not a documented operation; "
            "address the credential as federatedIdentityCredentials/{id or name}.",
        )

    async def delete_fic(self, call: Call) -> web.StreamResponse:
        application = self._application(call)
        if application is None:
            return self._app_missing(call)
        fic = self._find(application, call)
        if fic is None:
            return graph_error(
                404, "Request_ResourceNotFound", "The federated identity credential does not exist."
            )
        busy = await self._hold(application)
        if busy is not None:
            return busy
        application.fics.pop(fic.name.lower(), None)
        return web.Response(status=204)


MAX_REDIRECT_URIS = 256  # single-tenant apps (contracts/graph/entra_reply-url.restrictions.excerpt.md)
MAX_REDIRECT_URI_LENGTH = 256
REDIRECT_URI_FORBIDDEN = frozenset("!$'(),;")


def redirect_uris_problem(uris: Any) -> str | None:
    """What Entra's redirect URI rules refuse (contracts/graph/entra_reply-url.restrictions.excerpt.md); the
    status and message are the sandbox's choice (UNCONFIRMED)."""
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        return "web.redirectUris must be a list of strings."
    if len(uris) > MAX_REDIRECT_URIS:
        return f"An application holds at most {MAX_REDIRECT_URIS} redirect URIs."
    for uri in uris:
        local = uri.startswith(("http://localhost", "http://127.0.0.1"))
        if not (uri.startswith("https://") or local):
            return f"The redirect URI '{uri}' must use https."
        if len(uri) > MAX_REDIRECT_URI_LENGTH or REDIRECT_URI_FORBIDDEN & set(uri):
            return f"The redirect URI '{uri}' is longer than 256 characters or holds ! $ ' ( ) , or ;."
    return None
