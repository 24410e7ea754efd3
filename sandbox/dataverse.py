"""Dataverse Web API stand-in (domain.md §2).

`managedidentities`, plug-in assemblies/packages and their binding, system users,
`GetComponentManagedIdentityFIC`, application-user authorisation and service-protection limits.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from sandbox import dataverse_metadata as metadata
from sandbox.dataverse_tables import (
    COMPONENT_SETS,
    GUID,
    PRIVILEGE_VERB,
    TABLES,
    Table,
    dataverse_now,
    missing_row,
    odata_error,
    value_problem,
)
from sandbox.odata import GUID_TEXT, ODataQueryError, header_problem, parse_filter, project, row_matches
from sandbox.plugin_subjects import plugin_subject
from sandbox.routing import Call, Refusal, Route, StandIn
from sandbox.runtime import Runtime
from sandbox.state import Organization, Row

BASE = r"/api/data/v9\.[012]"
BIND = re.compile(rf"^(?:https://[^/]+{BASE})?/?managedidentities\((?P<id>{GUID_TEXT})\)$")
PAGE_SIZE = re.compile(r"odata\.maxpagesize=(\d+)")
DEFAULT_PAGE_SIZE = 5000
FUNCTION_ARGUMENT = re.compile(r"(?P<name>\w+)=(?P<value>'[^']*'|[^,]+)")


class Dataverse(StandIn):
    name = "dataverse"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        add = self.router.add
        add("GET", BASE + r"/WhoAmI(?:\(\))?", self.who_am_i, "action")
        add(
            "GET",
            BASE + r"/GetComponentManagedIdentityFIC\((?P<args>[^)]*)\)",
            self.component_subject,
            "action",
        )
        entity = BASE + r"/EntityDefinitions\(LogicalName='(?P<entity>[a-z_]+)'\)"
        add("GET", BASE + r"/EntityDefinitions", metadata.list_entity_definitions, "list")
        add("GET", entity, metadata.get_entity_definition)
        picklists = r"/Attributes/Microsoft\.Dynamics\.CRM\.PicklistAttributeMetadata"
        add("GET", entity + picklists, metadata.list_picklists, "list")
        add("GET", BASE + r"/(?P<set>[a-z]+)", self.list_rows, "list")
        add("POST", BASE + r"/(?P<set>[a-z]+)", self.create_row)
        row = BASE + rf"/(?P<set>[a-z]+)\((?P<id>{GUID_TEXT})\)"
        add("GET", row, self.get_row)
        add("PATCH", row, self.patch_row)
        add("DELETE", row, self.delete_row)
        add("DELETE", row + r"/managedidentityid/\$ref", self.unbind)

    def audiences(self, host: str) -> set[str] | None:
        return {f"https://{host}"}

    # -- authorisation and service protection ------------------------------------------------------------

    async def admit(self, call: Call, route: Route) -> web.StreamResponse | None:
        org = self._organization(call)
        call.facts["absent_tables"] = {name.lower() for name in self.runtime.config.dataverse_absent_tables}
        problem = header_problem(call.request.method, call.request.headers)
        if problem is not None:
            raise Refusal(odata_error(400, "0x80048d19", problem))
        assert call.caller is not None
        self._check_privilege(call, org, call.caller.app_id)
        faults = self.runtime.faults.profile
        throttled = self.runtime.protection.enter(org.host, call.caller.app_id, faults.time_scale)
        if throttled is not None:
            response = odata_error(429, throttled.code, throttled.message)
            response.headers["Retry-After"] = throttled.retry_after
            return response
        call.facts["protected"] = True
        return None

    def _organization(self, call: Call) -> Organization:
        host = call.request.url.host or ""
        org = self.runtime.state.organization_by_host(host)
        if org is None:
            raise Refusal(odata_error(404, "", f"No Dataverse organization is ready at {host}."))
        call.organization = org
        return org

    @staticmethod
    def _check_privilege(call: Call, org: Organization, app_id: str) -> None:
        """Only application users get in; without a security role they lack every table privilege."""
        user = next((u for u in org.table("systemusers").values() if u["applicationid"] == app_id), None)
        if user is None or user["isdisabled"]:
            raise Refusal(odata_error(403, "0x80072560", "The user is not a member of the organization."))
        table = TABLES.get(call.params.get("set", ""))
        if table is not None and app_id not in org.privileged_app_ids:
            verb = PRIVILEGE_VERB.get(call.request.method, "Read")
            message = (
                f"Principal user (Id={user['systemuserid']}, type=8, roleCount=0, privilegeCount=0, "
                f"accessMode=4), is missing prv{verb}{table.logical_name} privilege on OTC for entity "
                f"'{table.logical_name}'. Consider assigning a security role to the application user."
            )
            raise Refusal(odata_error(403, "0x80040220", message))

    def finish(self, call: Call, route: Route, response: web.StreamResponse, elapsed: float) -> None:
        response.headers["OData-Version"] = "4.0"
        if call.facts.get("protected") and call.organization is not None and call.caller is not None:
            self.runtime.protection.leave(call.organization.host, call.caller.app_id, elapsed)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _table(self, call: Call) -> Table | None:
        """The table the entity set names; None for an unknown one or one the organisation lacks."""
        table = TABLES.get(call.params["set"])
        if table is None or table.logical_name in call.facts.get("absent_tables", ()):
            return None
        return table

    def _unknown_set(self, call: Call) -> web.Response:
        return odata_error(404, "0x8006088a", f"Resource not found for the segment '{call.params['set']}'.")

    @staticmethod
    def _context(org: Organization, suffix: str) -> str:
        return f"{org.url}/api/data/v9.2/$metadata#{suffix}"

    @staticmethod
    def _etag(row: Row) -> str:
        return f'W/"{row.get("versionnumber", 0)}"'

    def _entity(
        self, org: Organization, set_name: str, table: Table, row: Row, select: str | None
    ) -> dict[str, Any]:
        shown = project({k: v for k, v in row.items() if k != "versionnumber"}, select, table.key)
        suffix = f"{set_name}({select})/$entity" if select else f"{set_name}/$entity"
        return {"@odata.context": self._context(org, suffix), "@odata.etag": self._etag(row), **shown}

    # -- handlers ------------------------------------------------------------------------------------------

    async def who_am_i(self, call: Call) -> web.StreamResponse:
        org = call.organization
        assert org is not None
        assert call.caller is not None
        user = next(u for u in org.table("systemusers").values() if u["applicationid"] == call.caller.app_id)
        return web.json_response(
            {
                "@odata.context": self._context(org, "Microsoft.Dynamics.CRM.WhoAmIResponse"),
                "BusinessUnitId": org.id,
                "UserId": user["systemuserid"],
                "OrganizationId": org.id,
            }
        )

    async def list_rows(self, call: Call) -> web.StreamResponse:
        org, table = call.organization, self._table(call)
        assert org is not None
        if table is None:
            return self._unknown_set(call)
        try:
            clauses = parse_filter(call.query["$filter"]) if "$filter" in call.query else []
            select = call.query.get("$select")
            rows = [
                project({k: v for k, v in row.items() if k != "versionnumber"}, select, table.key)
                | {"@odata.etag": self._etag(row)}
                for row in org.table(call.params["set"]).values()
                if row_matches(row, clauses)
            ]
        except ODataQueryError as exc:
            return odata_error(400, "0x80060888", str(exc))
        top = call.query.get("$top")
        if top is not None:
            if not top.isdigit():
                return odata_error(400, "0x80060888", f"Invalid value for $top: '{top}'.")
            rows = rows[: int(top)]
        return web.json_response(self._page(call, org, rows))

    def _page(self, call: Call, org: Organization, rows: list[Row]) -> dict[str, Any]:
        """One page; `Prefer: odata.maxpagesize=N` sets its size, `@odata.nextLink` leads on."""
        body: dict[str, Any] = {"@odata.context": self._context(org, call.params["set"])}
        token = call.query.get("$skiptoken", "")
        skip = int(token) if token.isdigit() else 0
        size = PAGE_SIZE.search(call.request.headers.get("Prefer", ""))
        page_size = max(1, int(size.group(1))) if size else DEFAULT_PAGE_SIZE
        body["value"] = rows[skip : skip + page_size]
        if skip + page_size < len(rows):
            next_url = call.request.url.with_scheme("https").update_query(
                {"$skiptoken": str(skip + page_size)}
            )
            body["@odata.nextLink"] = str(next_url)
        return body

    async def get_row(self, call: Call) -> web.StreamResponse:
        org, table = call.organization, self._table(call)
        assert org is not None
        if table is None:
            return self._unknown_set(call)
        row = org.table(call.params["set"]).get(call.params["id"].lower())
        if row is None:
            return missing_row(table, call.params["id"])
        try:
            return web.json_response(
                self._entity(org, call.params["set"], table, row, call.query.get("$select"))
            )
        except ODataQueryError as exc:
            return odata_error(400, "0x80060888", str(exc))

    def _validate(self, table: Table, body: dict[str, Any], row_id: str | None) -> str | None:
        for column, value in body.items():
            if column == table.key:
                if row_id is not None and str(value).lower() != row_id:
                    return f"The key '{table.key}' cannot be changed."
                continue
            kind = table.writable.get(column)
            if kind is None:
                return (
                    f"The property '{column}' does not exist on type "
                    f"'Microsoft.Dynamics.CRM.{table.logical_name}'. Make sure to only use property names "
                    "that are "
                    "defined by the type."
                )
            problem = value_problem(column, kind, value)
            if problem is not None:
                return problem
        return None

    def _new_row(self, table: Table, row_id: str, body: dict[str, Any]) -> Row:
        row: Row = {table.key: row_id, **dict.fromkeys(table.writable), "statecode": 0, "versionnumber": 1}
        row.update(
            {k: (v.lower() if k in ("applicationid", "tenantid") and v else v) for k, v in body.items()}
        )
        row[table.key] = row_id
        return row

    async def create_row(self, call: Call) -> web.StreamResponse:
        org, table = call.organization, self._table(call)
        assert org is not None
        if table is None:
            return self._unknown_set(call)
        if not table.creatable:
            return odata_error(
                400,
                "0x80040203",
                f"Records of '{table.logical_name}' are registered by the platform, not created here.",
            )
        body = await call.json_object()
        problem = self._validate(table, body, None)
        if problem is not None:
            return odata_error(400, "0x80060888" if "does not exist" in problem else "0x80040203", problem)
        supplied = body.get(table.key)
        if supplied is not None and not (isinstance(supplied, str) and GUID.match(supplied)):
            return odata_error(400, "0x80040203", f"Invalid value for '{table.key}': expected a GUID.")
        row_id = (supplied or self.runtime.state.new_id()).lower()
        rows = org.table(call.params["set"])
        if row_id in rows:
            return odata_error(412, "0x80040237", "A record with matching key values already exists.")
        rows[row_id] = self._new_row(table, row_id, body)
        location = f"{org.url}/api/data/v9.2/{call.params['set']}({row_id})"
        if "return=representation" in call.request.headers.get("Prefer", ""):
            response = web.json_response(
                self._entity(org, call.params["set"], table, rows[row_id], None), status=201
            )
        else:
            response = web.Response(status=204)
        response.headers["OData-EntityId"] = location
        return response

    async def patch_row(self, call: Call) -> web.StreamResponse:
        """Upsert; `If-Match: *` makes it update-only (404), `If-None-Match: *` create-only (412)."""
        org, table = call.organization, self._table(call)
        assert org is not None
        if table is None:
            return self._unknown_set(call)
        row_id = call.params["id"].lower()
        rows = org.table(call.params["set"])
        row = rows.get(row_id)
        body = await call.json_object()
        bind = body.pop("managedidentityid@odata.bind", None)
        self._check_preconditions(call, table, row)
        problem = self._validate(table, body, row_id)
        if problem is not None:
            return odata_error(400, "0x80060888" if "does not exist" in problem else "0x80040203", problem)
        if bind is not None:
            body["_managedidentityid_value"] = self._bind_target(call, org, bind)
        if row is None:
            row = rows[row_id] = self._new_row(table, row_id, body)
        else:
            row.update(
                {k: (v.lower() if k in ("applicationid", "tenantid") and v else v) for k, v in body.items()}
            )
            row["versionnumber"] = int(row.get("versionnumber", 0)) + 1
            if "modifiedon" in row:
                row["modifiedon"] = dataverse_now()
        if "return=representation" in call.request.headers.get("Prefer", ""):
            return web.json_response(
                self._entity(org, call.params["set"], table, row, call.query.get("$select"))
            )
        return web.Response(status=204)

    def _check_preconditions(self, call: Call, table: Table, row: Row | None) -> None:
        if_match, if_none_match = (
            call.request.headers.get("If-Match"),
            call.request.headers.get("If-None-Match"),
        )
        if row is None and (if_match is not None or not table.creatable):
            raise Refusal(missing_row(table, call.params["id"]))
        if row is not None and if_none_match == "*":
            raise Refusal(odata_error(412, "0x80040237", "A record with matching key values already exists."))
        if row is not None and if_match not in (None, "*") and if_match != self._etag(row):
            message = "The version of the existing record doesn't match the RowVersion property provided."
            raise Refusal(odata_error(412, "0x80060882", message))

    @staticmethod
    def _bind_target(call: Call, org: Organization, bind: object) -> str:
        if call.params["set"] not in COMPONENT_SETS.values():
            message = "managedidentityid@odata.bind is not valid on this table."
            raise Refusal(odata_error(400, "0x80060888", message))
        target = BIND.match(str(bind))
        if target is None:
            message = f"The bind reference '{bind}' is not a managedidentities URI."
            raise Refusal(odata_error(400, "0x80048d19", message))
        if target["id"].lower() not in org.table("managedidentities"):
            raise Refusal(missing_row(TABLES["managedidentities"], target["id"]))
        return target["id"].lower()

    async def delete_row(self, call: Call) -> web.StreamResponse:
        org, table = call.organization, self._table(call)
        assert org is not None
        if table is None:
            return self._unknown_set(call)
        if not table.creatable:
            return odata_error(
                400, "0x80040203", f"Records of '{table.logical_name}' cannot be deleted here."
            )
        row_id = call.params["id"].lower()
        if org.table(call.params["set"]).pop(row_id, None) is None:
            return missing_row(table, call.params["id"])
        for set_name in COMPONENT_SETS.values():  # cascade: RemoveLink on every bound component
            for component in org.table(set_name).values():
                if component.get("_managedidentityid_value") == row_id:
                    component["_managedidentityid_value"] = None
        return web.Response(status=204)

    async def unbind(self, call: Call) -> web.StreamResponse:
        org, table = call.organization, self._table(call)
        assert org is not None
        if table is None or call.params["set"] not in COMPONENT_SETS.values():
            return self._unknown_set(call)
        row = org.table(call.params["set"]).get(call.params["id"].lower())
        if row is None:
            return missing_row(table, call.params["id"])
        row["_managedidentityid_value"] = None
        return web.Response(status=204)

    async def component_subject(self, call: Call) -> web.StreamResponse:
        org = call.organization
        assert org is not None
        if not self.runtime.config.component_subject_supported:
            message = "Resource not found for the segment 'GetComponentManagedIdentityFIC'."
            return odata_error(404, "0x8006088a", message)
        arguments = {m["name"]: m["value"] for m in FUNCTION_ARGUMENT.finditer(call.params["args"])}
        arguments = {k: call.query.get(v, v) if v.startswith("@") else v for k, v in arguments.items()}
        component_id = arguments.get("ComponentId", "").strip("'").lower()
        component_name = arguments.get("ComponentName", "").strip("'")
        set_name = COMPONENT_SETS.get(component_name)
        if set_name is None or not GUID.match(component_id):
            return odata_error(
                400,
                "0x80040203",
                "ComponentName must be 'pluginassembly' or 'pluginpackage' and ComponentId a GUID.",
            )
        if component_id not in org.table(set_name):
            return missing_row(TABLES[set_name], component_id)
        if component_id not in org.signers:  # UNCONFIRMED reply: Dataverse's answer for unsigned code
            return odata_error(
                400, "0x80040203", f"The {component_name} {component_id} is not signed with a certificate."
            )
        source = self.runtime.config.fic_subject_environment
        subject = plugin_subject(
            org.signers[component_id],
            tenant_id=self.runtime.state.tenant_id,
            environment_id=org.environment_id if source == "environment" else org.id,
        )
        return web.json_response(
            {
                "@odata.context": self._context(
                    org, "Microsoft.Dynamics.CRM.GetComponentManagedIdentityFICResponse"
                ),
                "FICSubject": subject,
            }
        )
