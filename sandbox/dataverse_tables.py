"""The Dataverse tables the stand-in serves: keys, writable columns and their value rules, error replies."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from sandbox.errors import error_response
from sandbox.odata import GUID_TEXT

GUID = re.compile(rf"^{GUID_TEXT}$")


@dataclass(frozen=True)
class Table:
    logical_name: str
    key: str
    writable: dict[str, str] = field(default_factory=dict)  # column -> kind: guid | int | text | choice:<max>
    creatable: bool = False


TABLES = {
    "managedidentities": Table(
        "managedidentity",
        "managedidentityid",
        {
            "applicationid": "guid",
            "tenantid": "guid",
            "credentialsource": "choice:3",
            "subjectscope": "choice:2",
            "version": "int",
            "name": "text",
        },
        creatable=True,
    ),
    "pluginassemblies": Table("pluginassembly", "pluginassemblyid", {"description": "text"}),
    "pluginpackages": Table("pluginpackage", "pluginpackageid", {"description": "text"}),
    "systemusers": Table("systemuser", "systemuserid"),
}
COMPONENT_SETS = {"pluginassembly": "pluginassemblies", "pluginpackage": "pluginpackages"}
PRIVILEGE_VERB = {"GET": "Read", "POST": "Create", "PATCH": "Write", "DELETE": "Delete"}


def dataverse_now() -> str:
    """A `modifiedon` value as Dataverse writes it: UTC, whole seconds, `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def odata_error(status: int, code: str, message: str) -> web.Response:
    response = error_response("dataverse", status, code, message)
    response.headers["OData-Version"] = "4.0"
    return response


def missing_row(table: Table, row_id: str) -> web.Response:
    return odata_error(404, "0x80040217", f"{table.logical_name} With Id = {row_id} Does Not Exist")


def value_problem(column: str, kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind == "guid" and not (isinstance(value, str) and GUID.match(value)):
        return f"Invalid value for '{column}': expected a GUID."
    if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"Invalid value for '{column}': expected an integer."
    if kind.startswith("choice:") and not (isinstance(value, int) and 0 <= value <= int(kind.split(":")[1])):
        return f"'{value}' is not a valid value for the choice column '{column}'."
    if kind == "text" and not (isinstance(value, str) and len(value) <= 100):
        return f"Invalid value for '{column}': expected text of at most 100 characters."
    return None
