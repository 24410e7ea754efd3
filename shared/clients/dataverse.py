"""Dataverse Web API: `managedidentity` rows, plug-in component binding, application users, subject check.

The organisation URL only ever comes from the environments API and must pass `dataverse_origin` first: a
forged URL would otherwise receive the service's bearer token.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from shared.clients._paging import paged_items
from shared.errors import (
    InvalidInputError,
    PermanentServiceError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from shared.http import Call, HttpClient
from shared.policy import DEFAULT_DATAVERSE_HOST_SUFFIXES, Policy
from shared.telemetry import redact

API = "/api/data/v9.2"
HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
CREDENTIAL_SOURCE_MANAGED = 2
SUBJECT_SCOPE_ENVIRONMENT = 1
# How Dataverse answers a function it does not implement: 501, or its "Resource not found for the segment"
# code whatever the status (UNCONFIRMED). Other refusals are about the component asked for, and are raised.
FUNCTION_NOT_OFFERED = frozenset({501})
UNKNOWN_SEGMENT = "0x8006088a"
_PICKLISTS = "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
_PICKLIST_QUERY = "?$select=LogicalName&$expand=OptionSet($select=Options)"
COMPONENT_PAGE_SIZE = 500  # rows per page of a component listing (`Prefer: odata.maxpagesize`)
# 403 with this code: the caller is no user of the organisation and needs an application user. Verbatim
# `{"error":{"code":"0x80072560","message":"The user is not a member of the organization."}}` with 403 in
# learn.microsoft.com/dynamics365/fin-ops-core/data-entities/dual-write/dual-write-troubleshooting-live-sync
# ("Live synchronization shows an error when you create a row"). Any other 403 (a missing privilege,
# `0x80040220`) is not fixed by adding the user again.
NOT_A_MEMBER = "0x80072560"
# Microsoft's own plug-in assemblies: "It is unsupported to create a plug-in assembly for a Microsoft Dynamics
# CRM assembly (Microsoft.Crm.*.dll or Microsoft.Xrm.*.dll) or to update or delete a system plug-in assembly"
# (learn.microsoft.com/previous-versions/dynamicscrm-2013/developers-guide/gg334529(v=crm.6)). Recognised by
# that name; by Microsoft's strong-name key in `publickeytoken` (the column: contracts/dataverse/
# entity_pluginassembly.trimmed.md; the value, Microsoft's public key token: UNCONFIRMED for Dataverse); and
# by `customizationlevel` 0 (UNCONFIRMED: documented only as "Customization Level"; platform components
# carry 0, what customers register 1).
MICROSOFT_ASSEMBLY_PREFIXES = ("microsoft.crm.", "microsoft.xrm.")
MICROSOFT_PUBLIC_KEY_TOKENS = frozenset({"31bf3856ad364e35"})
SYSTEM_CUSTOMIZATION_LEVEL = 0

ComponentKind = Literal["pluginassembly", "pluginpackage"]
COMPONENT_SETS: dict[ComponentKind, str] = {
    "pluginassembly": "pluginassemblies",
    "pluginpackage": "pluginpackages",
}


def dataverse_origin(url: str, policy: Policy) -> str:
    """`https://host` of a Dataverse URL the policy allows, or `InvalidInputError` saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises for a port that is not a number in range
    except ValueError:  # an unbalanced '[' (urllib: "Invalid IPv6 URL") or an unreadable port
        raise InvalidInputError(
            "the Dataverse URL the environments API reports cannot be parsed (brackets or port)", field="url"
        ) from None
    host = (parts.hostname or "").lower().rstrip(".")  # `org.crm.dynamics.com.` is the same host
    problem = None
    if parts.scheme != "https":
        problem = "is not https"
    elif parts.username is not None or parts.password is not None:
        problem = "carries user information"
    elif port is not None:
        problem = "names a port"
    elif _is_ip_literal(host):
        problem = "is an IP address"
    elif not policy.dataverse_host_allowed(host):
        problem = f"is not under an allowed host suffix ({', '.join(policy.allowed_dataverse_host_suffixes)})"
        problem += _other_cloud_hint(host)
    if problem is not None:
        shown = url
        if "@" in parts.netloc:  # never repeat user information: it may be a password
            shown = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
        raise InvalidInputError(f"the Dataverse URL {redact(shown)!r} {problem}", field="url")
    return f"https://{host}"


def _other_cloud_hint(host: str) -> str:
    """A host of another cloud's Dataverse most likely means the policy names the wrong cloud."""
    for cloud, suffixes in DEFAULT_DATAVERSE_HOST_SUFFIXES.items():
        if any(host.endswith("." + suffix) for suffix in suffixes):
            return f"; it is a {cloud} Dataverse host: is the policy's cloud meant to be '{cloud}'?"
    return ""


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ManagedIdentityRow:
    id: str
    application_id: str | None
    tenant_id: str | None
    credential_source: int | None
    subject_scope: int | None
    version: int | None
    name: str | None


@dataclass(frozen=True)
class TableDefinition:
    """A table's `EntityDefinitions` entry and its choice columns' values (`{column: {value: label}}`)."""

    logical_name: str
    entity_set: str
    key: str
    choices: Mapping[str, Mapping[int, str]]


@dataclass(frozen=True)
class Component:
    """A plug-in assembly or package row and the `managedidentity` it is bound to."""

    kind: ComponentKind
    id: str
    name: str
    managed_identity_id: str | None
    microsoft: bool = False  # one of Microsoft's system assemblies: never a customer's signed plug-in
    modified_on: str = ""  # ISO 8601 as Dataverse sends it; a solution import touches what it imports


class DataverseClient:
    """One organisation's Web API; concurrency is capped per organisation by the HTTP layer."""

    def __init__(self, http: HttpClient, origin: str) -> None:
        self._http = http
        self.origin = origin
        self._scope = f"{origin}/.default"
        self._host = urlsplit(origin).hostname or origin

    def _call(self, method: str, path: str, template: str, *, json: object = None, **headers: str) -> Call:
        return Call(
            service="dataverse",
            method=method,
            url=f"{self.origin}{API}{path}",
            template=f"{API}{template}",
            scope=self._scope,
            json=json,
            headers={
                **HEADERS,
                **({"Content-Type": "application/json"} if json is not None else {}),
                **headers,
            },
            organisation=self._host,
        )

    async def _get(self, call: Call) -> dict[str, Any] | None:
        try:
            body: dict[str, Any] = (await self._http.send(call)).json()
        except ResourceNotFoundError:
            return None
        return body

    # -- managedidentities --------------------------------------------------------------------------------

    async def get_managed_identity(self, row_id: str) -> ManagedIdentityRow | None:
        select = "applicationid,tenantid,credentialsource,subjectscope,version,name"
        body = await self._get(
            self._call("GET", f"/managedidentities({row_id})?$select={select}", "/managedidentities({id})")
        )
        return None if body is None else _managed_identity(body)

    async def create_managed_identity(self, row_id: str, values: Mapping[str, Any]) -> bool:
        """Create-only with the client-chosen key; False when a row with that key already exists."""
        call = self._call(
            "PATCH",
            f"/managedidentities({row_id})",
            "/managedidentities({id})",
            json=dict(values),
            **{"If-None-Match": "*"},
        )
        try:
            await self._http.send(call)
        except ResourceExistsError:
            return False
        return True

    async def update_managed_identity(self, row_id: str, changes: Mapping[str, Any]) -> None:
        """Update-only (`If-Match: *`): a missing row is reported, never silently recreated."""
        call = self._call(
            "PATCH",
            f"/managedidentities({row_id})",
            "/managedidentities({id})",
            json=dict(changes),
            **{"If-Match": "*"},
        )
        await self._http.send(call)

    async def delete_managed_identity(self, row_id: str) -> bool:
        try:
            await self._http.send(
                self._call("DELETE", f"/managedidentities({row_id})", "/managedidentities({id})")
            )
        except ResourceNotFoundError:
            return False
        return True

    # -- plug-in components --------------------------------------------------------------------------------

    async def get_component(self, kind: ComponentKind, component_id: str) -> Component | None:
        entity_set = COMPONENT_SETS[kind]
        body = await self._get(
            self._call(
                "GET",
                f"/{entity_set}({component_id})?$select=_managedidentityid_value,name",
                f"/{entity_set}({{id}})",
            )
        )
        return None if body is None else _component(kind, component_id, body)

    async def list_components(self, kind: ComponentKind) -> list[Component]:
        """Every plug-in assembly (or package) with its binding: one read, paged on the same origin.

        No `$filter` on the binding: whether `ne` matches unbound rows is not documented, and unbound
        components are exactly the ones that matter.
        """
        entity_set = COMPONENT_SETS[kind]
        key = f"{kind}id"
        template = f"/{entity_set}"
        # Only assemblies have a strong-name key and a customization level (entity_pluginassembly.trimmed.md;
        # the pluginpackage reference lists neither).
        extra = ",customizationlevel,publickeytoken" if kind == "pluginassembly" else ""
        call = self._call(
            "GET",
            f"/{entity_set}?$select={key},name,_managedidentityid_value,modifiedon{extra}",
            template,
            Prefer=f"odata.maxpagesize={COMPONENT_PAGE_SIZE}",
        )
        items = paged_items(self._http, call, link_field="@odata.nextLink", origin=f"{self.origin}{API}")
        return [_component(kind, item[key], item) async for item in items]

    async def bind_component(self, kind: ComponentKind, component_id: str, managed_identity_id: str) -> None:
        entity_set = COMPONENT_SETS[kind]
        body = {"managedidentityid@odata.bind": f"/managedidentities({managed_identity_id})"}
        call = self._call(
            "PATCH",
            f"/{entity_set}({component_id})",
            f"/{entity_set}({{id}})",
            json=body,
            **{"If-Match": "*"},
        )
        await self._http.send(call)

    async def component_fic_subject(self, kind: ComponentKind, component_id: str) -> str | None:
        """What Dataverse itself computes as the FIC subject; None when it does not say.

        For plug-ins the function is UNCONFIRMED: a 404, a 501 or an unknown-segment code means it is not
        offered here; another refusal (this component, e.g. not signed) is raised for the caller to report.
        """
        path = f"/GetComponentManagedIdentityFIC(ComponentId={component_id},ComponentName='{quote(kind)}')"
        try:
            body = await self._get(self._call("GET", path, "/GetComponentManagedIdentityFIC(...)"))
        except PermanentServiceError as error:
            if error.status in FUNCTION_NOT_OFFERED or error.code.lower() == UNKNOWN_SEGMENT:
                return None
            raise
        if body is None:
            return None
        subject = body.get("FICSubject")
        return str(subject) if subject else None

    # -- table definitions --------------------------------------------------------------------------------

    async def table_definition(self, logical_name: str) -> TableDefinition | None:
        """The table's definition, or None when the organisation has no such table.

        `EntityDefinitions?$filter=LogicalName eq '…'` answers an empty list for a missing table, where the
        keyed form would answer 404; then its choice columns with their options, as "Query table definitions
        using the Web API" (learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-
        api) composes the request.
        """
        select = "LogicalName,EntitySetName,PrimaryIdAttribute"
        call = self._call(
            "GET",
            f"/EntityDefinitions?$select={select}&$filter=LogicalName eq '{quote(logical_name)}'",
            "/EntityDefinitions",
        )
        found = ((await self._http.send(call)).json().get("value")) or []
        if not found:
            return None
        definition = found[0]
        template = f"/EntityDefinitions(LogicalName='{{table}}')/Attributes/{_PICKLISTS}"
        path = template.replace("{table}", quote(logical_name)) + _PICKLIST_QUERY
        columns = (await self._http.send(self._call("GET", path, template))).json().get("value") or []
        return TableDefinition(
            logical_name=str(definition.get("LogicalName") or logical_name),
            entity_set=str(definition.get("EntitySetName") or ""),
            key=str(definition.get("PrimaryIdAttribute") or ""),
            choices={str(column.get("LogicalName")): _options(column) for column in columns},
        )

    # -- application users --------------------------------------------------------------------------------

    async def signed_in_as_application_user(self) -> bool:
        """WhoAmI: False only when Dataverse says the caller is no member of the organisation (`0x80072560`).

        Any other refusal (a missing privilege, a disabled user) is raised: adding the user would not fix it.
        """
        try:
            await self._http.send(self._call("GET", "/WhoAmI", "/WhoAmI"))
        except PermanentServiceError as error:
            if error.status == 403 and error.code.lower() == NOT_A_MEMBER:
                return False
            raise
        return True


def _component(kind: ComponentKind, component_id: object, body: Mapping[str, Any]) -> Component:
    bound = body.get("_managedidentityid_value")
    name = str(body.get("name") or "")
    token = str(body.get("publickeytoken") or "").lower()
    microsoft = (
        name.lower().startswith(MICROSOFT_ASSEMBLY_PREFIXES)
        or token in MICROSOFT_PUBLIC_KEY_TOKENS
        or body.get("customizationlevel") == SYSTEM_CUSTOMIZATION_LEVEL
    )
    return Component(
        kind,
        str(component_id).lower(),
        name,
        str(bound).lower() if bound else None,
        microsoft=kind == "pluginassembly" and microsoft,
        modified_on=str(body.get("modifiedon") or ""),
    )


def _options(column: Mapping[str, Any]) -> dict[int, str]:
    """A choice column's values and their labels (the user's label, else the first localized one)."""
    options = (column.get("OptionSet") or {}).get("Options") or []
    found: dict[int, str] = {}
    for option in options:
        value = option.get("Value")
        if not isinstance(value, int):
            continue
        label = option.get("Label") or {}
        shown = (label.get("UserLocalizedLabel") or {}).get("Label")
        localized = label.get("LocalizedLabels") or [{}]
        found[value] = str(shown or localized[0].get("Label") or "")
    return found


def _managed_identity(body: Mapping[str, Any]) -> ManagedIdentityRow:
    def text(key: str) -> str | None:
        value = body.get(key)
        return str(value).lower() if value else None

    def number(key: str) -> int | None:
        value = body.get(key)
        return int(value) if isinstance(value, int) else None

    return ManagedIdentityRow(
        id=str(body.get("managedidentityid", "")).lower(),
        application_id=text("applicationid"),
        tenant_id=text("tenantid"),
        credential_source=number("credentialsource"),
        subject_scope=number("subjectscope"),
        version=number("version"),
        name=body.get("name"),
    )
