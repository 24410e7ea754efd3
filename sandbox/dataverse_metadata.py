"""`EntityDefinitions`: the table metadata Dataverse clients read before they touch rows.

Microsoft's Python Dataverse client (PowerPlatform-Dataverse-Client) resolves a table's entity set and key
with `EntityDefinitions?$select=...&$filter=LogicalName eq '…'` and turns choice labels into values with
`EntityDefinitions(LogicalName='…')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`. The
values come from the table references in contracts/dataverse/ (entity_managedidentity.trimmed.md,
entity_pluginassembly.trimmed.md, entity_pluginpackage.2023.trimmed.md); MetadataIds are the sandbox's own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from typing import Any

from aiohttp import web

from sandbox.dataverse_tables import odata_error
from sandbox.odata import ODataQueryError
from sandbox.routing import Call

_METADATA_NAMESPACE = uuid.UUID("5f0c7a43-2d7e-4f0e-9f3b-7b8f6f1c2a10")
LOGICAL_NAME_FILTER = re.compile(r"^\s*LogicalName\s+eq\s+'(?P<name>[^']*)'\s*$")
ENGLISH = 1033

# logical name -> (SchemaName, EntitySetName, PrimaryIdAttribute, PrimaryNameAttribute), from the references.
ENTITIES: dict[str, tuple[str, str, str, str]] = {
    "managedidentity": ("ManagedIdentity", "managedidentities", "managedidentityid", "name"),
    "pluginassembly": ("PluginAssembly", "pluginassemblies", "pluginassemblyid", "name"),
    "pluginpackage": ("pluginpackage", "pluginpackages", "pluginpackageid", "name"),
    "systemuser": ("SystemUser", "systemusers", "systemuserid", "fullname"),
}
# Choice columns and options, verbatim from entity_managedidentity.trimmed.md ("EnviornmentScope" [sic]).
PICKLISTS: dict[str, dict[str, dict[int, str]]] = {
    "managedidentity": {
        "credentialsource": {
            0: "ClientSecret",
            1: "KeyVault",
            2: "IsManaged",
            3: "MicrosoftFirstPartyCertificate",
        },
        "subjectscope": {0: "GlobalScope", 1: "EnviornmentScope", 2: "DevOnlyScope"},
    },
}


def _metadata_id(*names: str) -> str:
    return str(uuid.uuid5(_METADATA_NAMESPACE, "/".join(names)))


def entity_definition(logical_name: str, absent: Collection[str] = ()) -> dict[str, Any] | None:
    """A table's definition; None for a table the organisation does not have (`absent`) or nobody knows."""
    known = ENTITIES.get(logical_name.lower())
    if known is None or logical_name.lower() in absent:
        return None
    schema, entity_set, key, name = known
    return {
        "MetadataId": _metadata_id(logical_name.lower()),
        "LogicalName": logical_name.lower(),
        "SchemaName": schema,
        "EntitySetName": entity_set,
        "PrimaryIdAttribute": key,
        "PrimaryNameAttribute": name,
    }


def entity_definitions(filter_expression: str | None, absent: Collection[str] = ()) -> list[dict[str, Any]]:
    """Every known table, or the one `LogicalName eq '…'` names (the only filter clients send here)."""
    if filter_expression is None:
        return [
            definition for name in ENTITIES if (definition := entity_definition(name, absent)) is not None
        ]
    wanted = LOGICAL_NAME_FILTER.match(filter_expression)
    if wanted is None:
        raise ODataQueryError(
            f"The sandbox understands only LogicalName eq '…' here, not '{filter_expression}'."
        )
    definition = entity_definition(wanted["name"], absent)
    return [] if definition is None else [definition]


def picklist_attributes(logical_name: str) -> list[dict[str, Any]]:
    """`PicklistAttributeMetadata` of a table's choice columns with their options and English labels."""
    return [
        {
            "MetadataId": _metadata_id(logical_name, column),
            "LogicalName": column,
            "OptionSet": {
                "Options": [
                    {
                        "Value": value,
                        "Label": {
                            "LocalizedLabels": [{"Label": label, "LanguageCode": ENGLISH}],
                            "UserLocalizedLabel": {"Label": label, "LanguageCode": ENGLISH},
                        },
                    }
                    for value, label in options.items()
                ]
            },
        }
        for column, options in PICKLISTS.get(logical_name.lower(), {}).items()
    ]


def project_metadata(item: dict[str, Any], select: str | None) -> dict[str, Any]:
    """`$select` over metadata properties (PascalCase); MetadataId always comes back."""
    if not select:
        return item
    columns = [column.strip() for column in select.split(",") if column.strip()]
    unknown = [column for column in columns if column not in item]
    if unknown:
        raise ODataQueryError(f"Could not find a property named '{unknown[0]}' on type 'EntityMetadata'.")
    return {"MetadataId": item["MetadataId"], **{column: item[column] for column in columns}}


def _context(call: Call, suffix: str) -> str:
    assert call.organization is not None
    return f"{call.organization.url}/api/data/v9.2/$metadata#{suffix}"


def _no_entity(name: str) -> web.Response:
    return odata_error(404, "0x80060888", f"Could not find an entity with name {name}.")


def _absent(call: Call) -> Collection[str]:
    """The tables this organisation lacks (`SandboxConfig.dataverse_absent_tables`, set by the stand-in)."""
    absent: Collection[str] = call.facts.get("absent_tables", ())
    return absent


async def list_entity_definitions(call: Call) -> web.StreamResponse:
    try:
        items = [
            project_metadata(item, call.query.get("$select"))
            for item in entity_definitions(call.query.get("$filter"), _absent(call))
        ]
    except ODataQueryError as exc:
        return odata_error(400, "0x80060888", str(exc))
    return web.json_response({"@odata.context": _context(call, "EntityDefinitions"), "value": items})


async def get_entity_definition(call: Call) -> web.StreamResponse:
    definition = entity_definition(call.params["entity"], _absent(call))
    if definition is None:
        return _no_entity(call.params["entity"])
    try:
        shown = project_metadata(definition, call.query.get("$select"))
    except ODataQueryError as exc:
        return odata_error(400, "0x80060888", str(exc))
    return web.json_response({"@odata.context": _context(call, "EntityDefinitions/$entity"), **shown})


async def list_picklists(call: Call) -> web.StreamResponse:
    name = call.params["entity"]
    if entity_definition(name, _absent(call)) is None:
        return _no_entity(name)
    context = _context(call, f"EntityDefinitions('{name}')/Attributes")
    return web.json_response({"@odata.context": context, "value": picklist_attributes(name)})
