"""One processed message, exported through the real Azure Monitor exporters into the ingestion stand-in."""

from __future__ import annotations

import json

import pytest

from tests.telemetry.conftest import ProcessedUnit


def test_one_message_yields_one_request_with_its_dimensions(processed_unit: ProcessedUnit) -> None:
    [request] = processed_unit.of_type("RequestData")
    data = request["data"]["baseData"]
    assert data["name"] == "ppmi.environment.created"
    assert data["success"] is True
    assert {
        key: data["properties"][key]
        for key in ("event_id", "event_type", "environment_id", "identity_key", "outcome", "attempts")
    } == {
        "event_id": "evt-0001",
        "event_type": "ppmi.environment.created",
        "environment_id": "7efcc31a-c410-e20e-9b95-dd448cedf653",
        "identity_key": "ppmi-7efcc31a",
        "outcome": "succeeded",
        "attempts": "2",
    }
    assert float(data["properties"]["duration_ms"]) > 0
    assert float(data["properties"]["enqueue_to_done_ms"]) >= 3000


def test_each_http_call_is_a_dependency_with_target_and_result_code(processed_unit: ProcessedUnit) -> None:
    calls = {
        (d["data"]["baseData"]["target"], d["data"]["baseData"]["resultCode"])
        for d in processed_unit.of_type("RemoteDependencyData")
        if d["data"]["baseData"]["type"] == "HTTP"
    }
    assert ("management.azure.com", "200") in calls
    assert ("graph.microsoft.com", "401") in calls
    [request] = processed_unit.of_type("RequestData")
    token_calls = [
        d
        for d in processed_unit.of_type("RemoteDependencyData")
        if "/msi/token" in d["data"]["baseData"]["name"]
        and d["tags"]["ai.operation.id"] == request["tags"]["ai.operation.id"]
    ]
    assert [d["data"]["baseData"]["resultCode"] for d in token_calls] == ["200"]


def test_steps_are_spans_under_the_request_with_their_outcomes(processed_unit: ProcessedUnit) -> None:
    [request] = processed_unit.of_type("RequestData")
    steps = {
        d["data"]["baseData"]["name"]: d
        for d in processed_unit.of_type("RemoteDependencyData")
        if d["data"]["baseData"]["type"] == "InProc"
    }
    assert set(steps) == {"ensure_identity", "ensure_fic"}
    assert steps["ensure_identity"]["data"]["baseData"]["properties"]["outcome"] == "unchanged"
    assert steps["ensure_fic"]["data"]["baseData"]["properties"]["outcome"] == "skipped"
    for step in steps.values():
        assert step["tags"]["ai.operation.id"] == request["tags"]["ai.operation.id"]
        assert step["tags"]["ai.operation.parentId"] == request["data"]["baseData"]["id"]


def test_the_canonical_line_reaches_traces_with_the_message_context(processed_unit: ProcessedUnit) -> None:
    [line] = [
        m
        for m in processed_unit.of_type("MessageData")
        if m["data"]["baseData"]["message"] == "message.processed"
    ]
    properties = line["data"]["baseData"]["properties"]
    assert (properties["event_id"], properties["outcome"], properties["attempts"]) == (
        "evt-0001",
        "succeeded",
        "2",
    )
    [request] = processed_unit.of_type("RequestData")
    assert line["tags"]["ai.operation.id"] == request["tags"]["ai.operation.id"]


def test_metrics_are_exported_with_their_dimensions(processed_unit: ProcessedUnit) -> None:
    [event] = processed_unit.metrics("ppmi.events")
    assert event["properties"] == {"event_type": "ppmi.environment.created", "outcome": "succeeded"}
    assert {
        (m["properties"]["step"], m["properties"]["outcome"])
        for m in processed_unit.metrics("ppmi.step.duration")
    } == {
        ("ensure_identity", "unchanged"),
        ("ensure_fic", "skipped"),
    }
    [retry] = processed_unit.metrics("ppmi.retries")
    assert retry["properties"] == {"service": "arm", "reason": "429"}
    capacity = processed_unit.metrics("ppmi.identity.fics")
    assert {(m["value"], m["properties"]["cap"]) for m in capacity} == {(19, "20")}
    [kept] = processed_unit.metrics("ppmi.messages.kept")
    assert kept["properties"] == {"reason_class": "invalid-input"}


def test_ingestion_is_authenticated_with_entra_tokens(processed_unit: ProcessedUnit) -> None:
    assert processed_unit.authenticated
    assert all(processed_unit.authenticated)


def test_seeded_secrets_appear_in_no_envelope_and_no_log_line(
    capsys: pytest.CaptureFixture[str], processed_unit: ProcessedUnit
) -> None:
    exported = json.dumps(processed_unit.envelopes)
    printed = capsys.readouterr().out
    assert "message.processed" in printed
    for secret in processed_unit.secrets:
        assert secret not in exported
        assert secret not in printed


def test_a_failure_is_one_exception_row_scrubbed_and_tagged_with_its_message(
    every_outcome: ProcessedUnit,
) -> None:
    [exception] = every_outcome.of_type("ExceptionData")
    properties = exception["data"]["baseData"]["properties"]
    assert (properties["event_type"], properties["step"]) == ("ppmi.environment.deleted", "remove_identity")
    [details] = exception["data"]["baseData"]["exceptions"]
    assert details["typeName"] == "RuntimeError"
    assert "[REDACTED]" in details["message"]
    exported = json.dumps(every_outcome.envelopes)
    for secret in every_outcome.secrets:
        assert secret not in exported


def test_rejected_and_failed_messages_are_unsuccessful_requests_with_reasons(
    every_outcome: ProcessedUnit,
) -> None:
    outcomes = {
        r["data"]["baseData"]["properties"]["event_id"]: (
            r["data"]["baseData"]["success"],
            r["data"]["baseData"]["properties"]["outcome"],
            r["data"]["baseData"]["properties"].get("reason"),
        )
        for r in every_outcome.of_type("RequestData")
    }
    assert outcomes == {
        "evt-0001": (True, "succeeded", None),
        "evt-0002": (False, "rejected", "untrusted signer"),
        "evt-0003": (False, "failed", "RuntimeError"),
    }


def test_printed_lines_carry_the_operation_id_app_insights_shows(
    capsys: pytest.CaptureFixture[str], processed_unit: ProcessedUnit
) -> None:
    [request] = processed_unit.of_type("RequestData")
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    [canonical] = [line for line in printed if line["event"] == "message.processed"]
    assert canonical["trace_id"] == request["tags"]["ai.operation.id"]
