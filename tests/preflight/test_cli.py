"""`ppmi preflight` as an operator or a pipeline runs it: its output and its exit code by severity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.faults import FaultProfile, ServiceFaults
from shared.cli import main
from tests.preflight.conftest import Tenant


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["preflight", "--retry-budget", "0.5", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_ready_tenant_exits_0_and_says_so(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys)

    assert code == 0
    assert out.rstrip().endswith("checks pass: ppmi can run here")
    assert "rights:" in out
    assert "  ok    /subscriptions/" in out


def test_an_error_exits_1_with_the_finding_and_its_fix(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant.deploy(PPMI_GRANT_SCOPES=[])

    code, out, _ = _run(capsys, "--output", "json")

    assert code == 1
    document = json.loads(out)
    assert document["ready"] is False
    (missing,) = [f for f in document["findings"] if f["severity"] == "error"]
    assert missing["code"] == "rights.missing"
    assert "azd provision" in missing["fix"]


def test_warnings_exit_0_unless_strict(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    tenant.sandbox.configure(component_subject_supported=False)

    relaxed, out, _ = _run(capsys)
    strict, _, _ = _run(capsys, "--strict")

    assert (relaxed, strict) == (0, 1)
    assert "WARNING subject.function_not_offered:" in out
    assert "act on the warnings" in out


def test_a_service_that_does_not_answer_exits_6(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    tenant.sandbox.set_faults(FaultProfile(services={"environments": ServiceFaults(reset_rate=1.0)}))

    code, out, _ = _run(capsys)

    assert code == 6
    assert "a service could not be reached" in out


def test_without_a_policy_it_names_the_variable_and_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)

    code, out, err = _run(capsys)

    assert (code, out) == (2, "")
    assert "PPMI_POLICY_FILE is not set" in err


def test_record_writes_the_cassettes_and_says_where(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "--record", str(tmp_path / "replies"), "--output", "json")

    assert code == 0
    assert json.loads(out)["recordedTo"] == str(tmp_path / "replies")
    assert (tmp_path / "replies" / "MANIFEST.md").is_file()
