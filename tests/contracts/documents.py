"""Reading contracts/: JSON files, the JSON bodies of a reference page's examples, its definition tables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

CONTRACTS = Path(__file__).parents[2] / "contracts"
_CODE_BLOCK = re.compile(r"^```[^\n]*\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
_SCHEMA_ITEM = re.compile(r"^- \[(?P<name>\w+)\]\(#BKMK_\w+\)", re.MULTILINE)


def text(relative: str) -> str:
    return (CONTRACTS / relative).read_text(encoding="utf-8")


def load_json(relative: str) -> Any:
    return json.loads(text(relative))


def json_bodies(relative: str) -> list[Any]:
    """Every code block of a page that holds a JSON document (after any HTTP status and header lines).

    Blocks that are not valid JSON (requests in other languages, samples with a missing comma) are left out.
    """
    bodies = []
    for block in _CODE_BLOCK.finditer(text(relative)):
        body = block["body"]
        start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
        if start < 0:
            continue
        try:
            bodies.append(json.loads(body[start:]))
        except ValueError:
            continue
    return bodies


def response_bodies(relative: str) -> list[Any]:
    """The JSON bodies of the page's `HTTP/1.1 …` response examples."""
    found = []
    for block in _CODE_BLOCK.finditer(text(relative)):
        body = block["body"]
        if body.lstrip().startswith("HTTP/1.1") and "{" in body:
            found.append(json.loads(body[body.index("{") :]))
    return found


def table_first_column(relative: str, heading: str) -> set[str]:
    """The first cell of each row of the first table under `heading` (a whole heading line)."""
    lines = text(relative).splitlines()
    start = lines.index(heading)
    names: set[str] = set()
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells and cells[0] and set(cells[0]) - set(":-"):
            names.add(cells[0])
    names.discard("Name")
    names.discard("Property")
    return names


def dataverse_columns(relative: str) -> set[str]:
    """The logical names of a table reference's columns (writable and read-only lists), lower case."""
    return {match["name"].lower() for match in _SCHEMA_ITEM.finditer(text(relative))}


def column_of(name: str) -> str:
    """The column a Web API property names: a lookup is read as `_{column}_value`."""
    return name[1:-6] if name.startswith("_") and name.endswith("_value") else name


def dataverse_table_columns() -> dict[str, set[str]]:
    """The documented columns of each table ppmi touches, by entity set."""
    # `version`: the set-up page's payload documents it; the table reference does not list it (yet).
    assert '"version": 1' in text("dataverse/ppadmin_set-up-managed-identity.2025-10-10.md")
    # pluginpackage's `managedidentityid`: relationship managedidentity_pluginpackage (managedidentity.md);
    # the stored pluginpackage reference predates it.
    assert "managedidentity_pluginpackage" in text("dataverse/entity_managedidentity.trimmed.md")
    return {
        "managedidentities": dataverse_columns("dataverse/entity_managedidentity.trimmed.md") | {"version"},
        "pluginassemblies": dataverse_columns("dataverse/entity_pluginassembly.trimmed.md"),
        "pluginpackages": dataverse_columns("dataverse/entity_pluginpackage.2023.trimmed.md")
        | {"managedidentityid"},
    }
