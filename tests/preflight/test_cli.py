"""`ppmi preflight` as an operator or a pipeline runs it: its output and its exit code by severity."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.faults import FaultProfile, ServiceFaults
from shared.cli import main
from shared.cli._exit import ExitCode
from tests.cli.schemas import documented
from tests.preflight.conftest import Tenant


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["preflight", "--retry-budget", "0.5", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_ready_tenant_exits_0_and_says_so(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys)

    assert code == ExitCode.OK
    assert out.rstrip().endswith("checks pass: ppmi can run here")
    assert "rights:" in out
    assert "  ok    /subscriptions/" in out


def test_an_error_exits_1_with_the_finding_and_its_fix(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant.deploy(PPMI_GRANT_SCOPES=[])

    code, out, _ = _run(capsys, "--output", "json")

    assert code == ExitCode.ATTENTION
    document = documented("preflight", out)
    assert document["ready"] is False
    (missing,) = [f for f in document["findings"] if f["severity"] == "error"]
    assert missing["code"] == "rights.missing"
    assert "azd provision" in missing["fix"]


def test_warnings_exit_0_unless_strict(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    tenant.sandbox.configure(component_subject_supported=False)

    relaxed, out, _ = _run(capsys)
    strict, _, _ = _run(capsys, "--strict")

    assert (relaxed, strict) == (ExitCode.OK, ExitCode.ATTENTION)
    assert "WARNING subject.function_not_offered:" in out
    assert "act on the warnings" in out


def test_a_service_that_does_not_answer_exits_6(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
    tenant.sandbox.set_faults(FaultProfile(services={"environments": ServiceFaults(reset_rate=1.0)}))

    code, out, _ = _run(capsys)

    assert code == ExitCode.UNAVAILABLE
    assert "a service could not be reached" in out


def test_without_a_policy_it_names_the_variable_and_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)

    code, out, err = _run(capsys)

    assert (code, out) == (ExitCode.USAGE, "")
    assert "PPMI_POLICY_FILE is not set" in err


def test_a_failure_in_json_mode_is_the_error_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)

    code, out, _ = _run(capsys, "--output", "json")

    assert code == ExitCode.USAGE
    assert documented("preflight", out)["error"]["exitCode"] == ExitCode.USAGE


def test_record_writes_the_cassettes_and_says_where(
    tenant: Tenant, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = _run(capsys, "--record", str(tmp_path / "replies"), "--output", "json")

    assert code == ExitCode.OK
    assert documented("preflight", out)["recordedTo"] == str(tmp_path / "replies")
    assert (tmp_path / "replies" / "MANIFEST.md").is_file()


def test_progress_names_each_step_on_stderr_when_asked(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "--progress", "--output", "json")

    assert code == ExitCode.OK
    assert "rights: ppmi's own ARM permissions where it acts" in err
    assert documented("preflight", out)["ready"] is True


def test_an_upper_case_environment_id_is_refused_on_the_command_line(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["preflight", "--environment-id", tenant.environment_id.upper()])
    assert exited.value.code == ExitCode.USAGE
    assert "written in upper case" in capsys.readouterr().err
