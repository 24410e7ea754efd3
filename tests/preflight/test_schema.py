"""The JSON report `--output json` prints fits docs/schemas/preflight.schema.json, healthy or not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from shared.preflight import PreflightReport
from tests.preflight.conftest import Tenant

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "preflight.schema.json"


def _problems(report: PreflightReport) -> list[str]:
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    document = json.loads(json.dumps(report.to_json()))
    return [error.message for error in Draft202012Validator(schema).iter_errors(document)]


def test_a_healthy_report_fits_the_schema(tenant: Tenant) -> None:
    report = tenant.run()
    assert report.to_json()["ready"] is True
    assert _problems(report) == []


def test_a_report_with_errors_warnings_and_skips_fits_the_schema(tenant: Tenant) -> None:
    tenant.deploy(PPMI_IDENTITY_RESOURCE_GROUP=None)
    tenant.sandbox.configure(component_subject_supported=False, environment_live_state="Active")

    report = tenant.run(tenant.environment_id, "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01")

    document = report.to_json()
    assert document["ready"] is False
    assert {f["severity"] for f in document["findings"]} == {"error", "warning"}
    assert _problems(report) == []
