"""Application Insights ingestion: payload forms, instrumentation key, Entra authentication."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox

INGESTION = "https://dc.applicationinsights.azure.com"


@pytest.fixture
def ingestion(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox.client(base_url=INGESTION) as client:
        yield client


def envelope(sandbox: Sandbox, name: str) -> dict[str, Any]:
    ikey = sandbox.env["APPLICATIONINSIGHTS_CONNECTION_STRING"].split(";")[0].split("=")[1]
    return {
        "name": "Microsoft.ApplicationInsights.Message",
        "iKey": ikey,
        "data": {"baseData": {"message": name}},
    }


def test_json_array_is_recorded_and_acknowledged(ingestion: httpx.Client, sandbox: Sandbox) -> None:
    response = ingestion.post("/v2.1/track", json=[envelope(sandbox, "a"), envelope(sandbox, "b")])
    assert response.json() == {"itemsReceived": 2, "itemsAccepted": 2, "errors": []}
    assert [e["data"]["baseData"]["message"] for e in sandbox.telemetry_envelopes()] == ["a", "b"]


def test_gzipped_newline_delimited_json_is_accepted(ingestion: httpx.Client, sandbox: Sandbox) -> None:
    body = "\n".join(json.dumps(envelope(sandbox, name)) for name in ("a", "b", "c")).encode()
    response = ingestion.post(
        "/v2.1/track",
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/x-json-stream"},
    )
    assert response.json()["itemsAccepted"] == 3


def test_envelopes_for_another_instrumentation_key_are_refused_one_by_one(
    ingestion: httpx.Client, sandbox: Sandbox
) -> None:
    stranger = {**envelope(sandbox, "x"), "iKey": "00000000-0000-0000-0000-000000000000"}
    response = ingestion.post("/v2.1/track", json=[envelope(sandbox, "ok"), stranger])
    assert response.status_code == 206
    assert response.json()["errors"] == [
        {"index": 1, "statusCode": 400, "message": "Invalid instrumentation key"}
    ]


def test_bearer_for_the_wrong_audience_is_refused(sandbox: Sandbox) -> None:
    with sandbox.client("https://management.azure.com", base_url=INGESTION) as client:
        response = client.post("/v2.1/track", json=[envelope(sandbox, "a")])
    assert response.status_code == 401
    assert sandbox.telemetry_envelopes() == []


def test_entra_authenticated_telemetry_is_marked_as_such(sandbox: Sandbox) -> None:
    with sandbox.client("https://monitor.azure.com", base_url=INGESTION) as client:
        client.post("/v2.1/track", json=[envelope(sandbox, "a")])
    assert sandbox.call_in_loop(lambda: [t.authenticated for t in sandbox.runtime.state.telemetry]) == [True]


def test_telemetry_is_readable_through_the_control_api(ingestion: httpx.Client, sandbox: Sandbox) -> None:
    ingestion.post("/v2.1/track", json=[envelope(sandbox, "a")])
    with sandbox.client(base_url=sandbox.url) as control:
        recorded = control.get("/_sandbox/telemetry").json()
    assert [
        (item["authenticated"], item["envelope"]["data"]["baseData"]["message"]) for item in recorded
    ] == [(False, "a")]
