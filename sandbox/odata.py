"""The slice of OData Dataverse clients use: version headers, `$select`, `$top`, `and`-joined `eq` filters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

GUID_TEXT = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
COMPARISON = re.compile(
    rf"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<op>eq|ne)\s+"
    rf"(?P<value>'(?:[^']|'')*'|{GUID_TEXT}|-?\d+|true|false|null)\s*$"
)


class ODataQueryError(ValueError):
    """A query option the sandbox (and Dataverse) cannot parse."""


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(GUID_TEXT, text):
        return text.lower()
    return int(text)


def parse_filter(expression: str) -> list[tuple[str, str, Any]]:
    """`a eq 'x' and b eq 1` → [(a, eq, 'x'), (b, eq, 1)]."""
    clauses = []
    for part in re.split(r"\s+and\s+", expression.strip()):
        match = COMPARISON.match(part.strip("() "))
        if match is None:
            raise ODataQueryError(f"Could not parse filter clause '{part}'.")
        clauses.append((match["field"], match["op"], _literal(match["value"])))
    return clauses


def _normalised(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def row_matches(row: dict[str, Any], clauses: list[tuple[str, str, Any]]) -> bool:
    for field, op, value in clauses:
        if field not in row:
            raise ODataQueryError(
                f"Could not find a property named '{field}' on type 'Microsoft.Dynamics.CRM'."
            )
        equal = _normalised(row[field]) == _normalised(value)
        if equal != (op == "eq"):
            return False
    return True


def project(row: dict[str, Any], select: str | None, key: str) -> dict[str, Any]:
    """The row limited to `$select` columns (the primary key always comes back, as in Dataverse)."""
    if not select:
        return dict(row)
    columns = [c.strip() for c in select.split(",") if c.strip()]
    unknown = [c for c in columns if c not in row]
    if unknown:
        raise ODataQueryError(
            f"Could not find a property named '{unknown[0]}' on type 'Microsoft.Dynamics.CRM'."
        )
    return {key: row[key], **{c: row[c] for c in columns}}


def header_problem(method: str, headers: Mapping[str, str]) -> str | None:
    """What is wrong with a request's OData and content headers, if anything.

    The version headers are recommended, not required ("Compose HTTP requests and handle errors",
    learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors): absent
    is fine; a version below 4.0, which the service cannot answer in, is refused (UNCONFIRMED reply).
    """
    for header in ("OData-MaxVersion", "OData-Version"):
        value = headers.get(header)
        major = (value or "4").strip().split(".", 1)[0]
        if not (major.isdigit() and int(major) >= 4):
            return f"The header '{header}: {value}' asks for an OData version this service lacks."
    if method in ("POST", "PATCH") and not headers.get("Content-Type", "").startswith("application/json"):
        return "The request body must be sent with 'Content-Type: application/json'."
    return None
