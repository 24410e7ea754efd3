"""Microsoft Graph: federated identity credentials on an app registration (`app-registration` strategy)."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote

from shared.clients._paging import paged_items
from shared.clients.arm import StoredCredential, credential_from
from shared.errors import ResourceNotFoundError
from shared.fic import FederatedCredential
from shared.http import Call, HttpClient, PaceKey

_APPLICATION = "/v1.0/applications/{objectId}"
_FICS = _APPLICATION + "/federatedIdentityCredentials"
# GET, PATCH (update) and DELETE address a FIC by ID or name as a path segment (contracts/graph/
# api_federatedidentitycredential-get.md, -update.md, -delete.md); `(name='…')` is documented only for the
# upsert (contracts/graph/api_federatedidentitycredential-upsert.md).
_FIC = _FICS + "/{name}"
_FIC_UPSERT = _FICS + "(name='{name}')"


class GraphClient:
    """FIC reads and writes on one tenant's applications, paced per application."""

    def __init__(self, http: HttpClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._scope = f"{self._base}/.default"

    def _call(
        self,
        method: str,
        path: str,
        template: str,
        *,
        json: object = None,
        pace: tuple[PaceKey, ...] = (),
        headers: dict[str, str] | None = None,
    ) -> Call:
        return Call(
            service="graph",
            method=method,
            url=self._base + path,
            template=template,
            scope=self._scope,
            json=json,
            headers=headers or {},
            pace=pace,
        )

    async def list_federated_credentials(self, application_object_id: str) -> list[StoredCredential]:
        call = self._call("GET", _FICS.format(objectId=application_object_id), _FICS)
        items = paged_items(self._http, call, link_field="@odata.nextLink", origin=self._base)
        return [credential_from(item) async for item in items]

    async def get_federated_credential(
        self, application_object_id: str, name: str
    ) -> StoredCredential | None:
        path = _FIC.format(objectId=application_object_id, name=quote(name, safe=""))
        try:
            response = await self._http.send(self._call("GET", path, _FIC))
        except ResourceNotFoundError:
            return None
        body = response.json()
        # The reference's own sample (contracts/graph/api_federatedidentitycredential-get.md) wraps the entity
        # in "value"; accept both that and the entity itself.
        if isinstance(body, dict) and "name" not in body and isinstance(body.get("value"), dict):
            body = body["value"]
        return credential_from(body)

    async def upsert_federated_credential(
        self,
        application_object_id: str,
        name: str,
        credential: FederatedCredential,
        *,
        description: str | None = None,
    ) -> bool:
        """PATCH by name creates or updates; True when created (201).

        Graph only creates with `Prefer: create-if-missing`; without it a missing FIC is a 404.
        """
        body: dict[str, object] = {
            "issuer": credential.issuer,
            "subject": credential.subject,
            "audiences": [credential.audience],
        }
        if description is not None:
            body["description"] = description
        call = self._call(
            "PATCH",
            _FIC_UPSERT.format(objectId=application_object_id, name=quote(name.replace("'", "''"), safe="")),
            _FIC_UPSERT,
            json=body,
            pace=(PaceKey("graph-writes-per-application", application_object_id),),
            headers={"Prefer": "create-if-missing"},
        )
        response = await self._http.send(call)
        return response.status_code == 201

    async def delete_federated_credential(self, application_object_id: str, name: str) -> bool:
        call = self._call(
            "DELETE",
            _FIC.format(objectId=application_object_id, name=quote(name, safe="")),
            _FIC,
            pace=(PaceKey("graph-writes-per-application", application_object_id),),
        )
        try:
            await self._http.send(call)
        except ResourceNotFoundError:
            return False
        return True

    # -- the application's web redirect URIs ------------------------------------------------------------

    async def get_web_redirect_uris(self, application_object_id: str) -> list[str] | None:
        """`web.redirectUris` (contracts/graph/resources_webapplication.md); None without such an app."""
        path = _APPLICATION.format(objectId=application_object_id)
        call = self._call("GET", path, _APPLICATION)
        call = replace(call, url=call.url + "?$select=id,web")
        try:
            response = await self._http.send(call)
        except ResourceNotFoundError:
            return None
        web = response.json().get("web") or {}
        return [str(uri) for uri in web.get("redirectUris") or () if isinstance(uri, str)]

    async def set_web_redirect_uris(self, application_object_id: str, uris: list[str]) -> None:
        """PATCH the whole list (contracts/graph/api_application-update.excerpt.md: 204 No Content)."""
        call = self._call(
            "PATCH",
            _APPLICATION.format(objectId=application_object_id),
            _APPLICATION,
            json={"web": {"redirectUris": uris}},
            pace=(PaceKey("graph-writes-per-application", application_object_id),),
        )
        await self._http.send(call)
