"""The workbook and alerts query only what the code emits, and the workbook embeds the kept `.kql` files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.telemetry.conftest import ProcessedUnit

MONITORING = Path(__file__).resolve().parents[2] / "infra" / "monitoring"
QUERIES = MONITORING / "queries"
WORKBOOK = MONITORING / "workbook.json"
BICEP = MONITORING / "observability.bicep"

Envelope = dict[str, Any]


def _base(envelope: Envelope) -> dict[str, Any]:
    data: dict[str, Any] = envelope["data"]["baseData"]
    return data


def _exception(envelope: Envelope) -> dict[str, Any]:
    details: dict[str, Any] = _base(envelope)["exceptions"][0]
    return details


def _metric(envelope: Envelope) -> dict[str, Any]:
    metric: dict[str, Any] = _base(envelope)["metrics"][0]
    return metric


def _tag(name: str) -> Callable[[Envelope], Any]:
    return lambda envelope: envelope["tags"].get(name)


def _field(name: str) -> Callable[[Envelope], Any]:
    return lambda envelope: _base(envelope).get(name)


_COMMON: dict[str, Callable[[Envelope], Any]] = {
    "timestamp": lambda envelope: envelope["time"],
    "operation_Id": _tag("ai.operation.id"),
    "operation_Name": _tag("ai.operation.name"),
    "customDimensions": _field("properties"),
}

# Application Insights table ← envelope type, and each column ← the envelope field that fills it.
TABLES: dict[str, tuple[str, dict[str, Callable[[Envelope], Any]]]] = {
    "requests": (
        "RequestData",
        {
            **_COMMON,
            "name": _field("name"),
            "duration": _field("duration"),
            "success": _field("success"),
            "resultCode": _field("responseCode"),
        },
    ),
    "dependencies": (
        "RemoteDependencyData",
        {
            **_COMMON,
            "name": _field("name"),
            "duration": _field("duration"),
            "success": _field("success"),
            "resultCode": _field("resultCode"),
            "target": _field("target"),
            "type": _field("type"),
            "data": _field("data"),
        },
    ),
    "traces": (
        "MessageData",
        {**_COMMON, "message": _field("message"), "severityLevel": _field("severityLevel")},
    ),
    "customMetrics": (
        "MetricData",
        {
            **_COMMON,
            "name": lambda e: _metric(e)["name"],
            "value": lambda e: _metric(e)["value"],
            "valueSum": lambda e: _metric(e)["value"],
            "valueCount": lambda e: _metric(e).get("count"),
            "valueMax": lambda e: _metric(e).get("max"),
            "valueMin": lambda e: _metric(e).get("min"),
        },
    ),
    "exceptions": (
        "ExceptionData",
        {
            **_COMMON,
            "type": lambda e: _exception(e)["typeName"],
            "outerMessage": lambda e: _exception(e)["message"],
        },
    ),
}
ALL_COLUMNS = {column for _, columns in TABLES.values() for column in columns}


def query_files() -> list[Path]:
    return sorted(QUERIES.glob("*.kql"))


def code_of(query: str) -> str:
    """The query without comments and string literals, so only identifiers remain to be checked."""
    without_comments = re.sub(r"//[^\n]*", "", query)
    return re.sub(r'"[^"]*"', '""', without_comments)


def table_of(query: str) -> str:
    return code_of(query).split()[0]


@pytest.mark.parametrize("path", query_files(), ids=lambda p: p.stem)
def test_every_query_reads_a_table_and_columns_the_envelopes_fill(
    path: Path, every_outcome: ProcessedUnit
) -> None:
    query = path.read_text()
    table = table_of(query)
    assert table in TABLES, f"{path.name} reads {table}, which no envelope feeds"
    base_type, columns = TABLES[table]
    emitted = every_outcome.of_type(base_type)
    used = set(re.findall(r"\b[A-Za-z_]\w*\b", code_of(query))) & ALL_COLUMNS
    assert used <= set(columns), f"{path.name} uses {sorted(used - set(columns))}, not columns of {table}"
    for column in used:
        assert any(columns[column](envelope) is not None for envelope in emitted), (
            f"nothing fills {table}.{column}"
        )


@pytest.mark.parametrize("path", query_files(), ids=lambda p: p.stem)
def test_every_custom_dimension_a_query_reads_is_one_the_code_emits(
    path: Path, every_outcome: ProcessedUnit
) -> None:
    query = path.read_text()
    base_type, _ = TABLES[table_of(query)]
    emitted = every_outcome.of_type(base_type)
    metric_names = re.findall(r'name == "(ppmi\.[\w.]+)"', query)
    if metric_names:
        emitted = [e for e in emitted if _metric(e)["name"] in metric_names]
        assert emitted, f"{path.name} reads metrics {metric_names} that are never emitted"
    messages = re.findall(r'message == "([^"]+)"', query)
    if messages:
        emitted = [e for e in emitted if _base(e)["message"] in messages]
        assert emitted, f"{path.name} reads log lines {messages} that are never emitted"
    dimensions = set(re.findall(r"customDimensions\.(\w+)", query)) | set(
        re.findall(r'customDimensions\["([^"]+)"\]', query)
    )
    available = {key for envelope in emitted for key in _base(envelope).get("properties", {})}
    assert dimensions <= available, f"{path.name} reads {sorted(dimensions - available)}, never emitted"


def workbook() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(WORKBOOK.read_text())
    return loaded


def test_the_workbook_is_a_valid_notebook_with_unique_item_names() -> None:
    book = workbook()
    assert book["version"] == "Notebook/1.0"
    assert all(isinstance(resource, str) for resource in book.get("fallbackResourceIds", []))
    # Item types of the workbook format: 1 text, 3 query, 9 parameters.
    assert {item["type"] for item in book["items"]} == {1, 3, 9}
    assert all(isinstance(item["content"], dict) for item in book["items"])
    names = [item["name"] for item in book["items"]]
    assert all(names)
    assert len(names) == len(set(names))


def test_every_workbook_query_is_a_kept_kql_file_word_for_word() -> None:
    queries = [item for item in workbook()["items"] if item["type"] == 3]
    for item in queries:
        content = item["content"]
        assert content["version"] == "KqlItem/1.0"
        assert content["resourceType"] == "microsoft.insights/components"
        assert content["query"] == (QUERIES / f"{item['name']}.kql").read_text(), item["name"]
    dashboards = {path.stem for path in query_files() if not path.stem.startswith("alert-")}
    assert {item["name"] for item in queries} == dashboards


def test_workbook_queries_follow_the_time_range_picker() -> None:
    [parameters] = [item for item in workbook()["items"] if item["type"] == 9]
    defined = {parameter["name"] for parameter in parameters["content"]["parameters"]}
    for item in workbook()["items"]:
        if item["type"] == 3:
            assert item["content"]["timeContextFromParameter"] in defined


def test_every_alert_query_is_loaded_by_the_bicep_and_yields_its_measure_column() -> None:
    bicep = BICEP.read_text()
    alerts = [path for path in query_files() if path.stem.startswith("alert-")]
    assert {"alert-kept-messages", "alert-failure-rate", "alert-identity-capacity"} <= {
        p.stem for p in alerts
    }
    for path in alerts:
        assert f"loadTextContent('queries/{path.name}')" in bicep
    for block in re.findall(
        r"query: loadTextContent\('queries/([\w-]+\.kql)'\).*?metricMeasureColumn: '(\w+)'", bicep, re.S
    ):
        name, column = block
        assert re.search(rf"\b{column}\s*=", (QUERIES / name).read_text()), (
            f"{name} does not produce {column}"
        )
