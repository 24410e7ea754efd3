"""The command's contract: JSON shape, exit codes, the certificate option, errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from shared.cli import main
from tests.diagnosis.conftest import Provisioned
from tests.sandbox.certificates import issued

FINDING_KEYS = {"code", "severity", "message", "resource", "expected", "actual", "details", "fix"}


def test_json_report_has_a_stable_shape(provisioned: Provisioned) -> None:
    provisioned.dataverse("DELETE", f"pluginpackages({provisioned.package_id})/managedidentityid/$ref")
    report = provisioned.verify_package().report
    assert set(report) == {"environmentId", "component", "healthy", "summary", "checked", "findings"}
    assert report["environmentId"] == provisioned.environment_id
    assert report["component"] == f"plug-in package {provisioned.package_id}"
    assert report["healthy"] is False
    assert report["summary"] == {"errors": 1, "warnings": 0}
    assert all(set(item) == {"link", "target"} for item in report["checked"])
    (finding,) = report["findings"]
    assert set(finding) == FINDING_KEYS
    assert finding["severity"] == "error"
    assert isinstance(finding["details"], list)


def test_text_report_shows_expected_actual_and_fix(provisioned: Provisioned) -> None:
    provisioned.dataverse("DELETE", f"pluginpackages({provisioned.package_id})/managedidentityid/$ref")
    verified = provisioned.verify_package(output="text")
    assert verified.exit_code == 1
    assert "ERROR   component.not_bound:" in verified.stdout
    assert "expected: " in verified.stdout
    assert "fix:      run `ppmi publish ppmi.pluginpackage.registered" in verified.stdout
    assert verified.stdout.rstrip().endswith("plug-ins here get no token until the errors are fixed")


def test_the_signing_certificate_given_is_checked_against_the_fics(
    provisioned: Provisioned, tmp_path: Path
) -> None:
    certificate = tmp_path / "signing.cer"
    certificate.write_bytes(provisioned.certificate)
    verified = provisioned.verify_package("--certificate", str(certificate))
    assert verified.exit_code == 0, verified.stdout
    assert {"link": "signer", "target": "the certificate given"} in verified.report["checked"]


def test_an_untrusted_certificate_given_is_named(provisioned: Provisioned, tmp_path: Path) -> None:
    certificate = tmp_path / "other.cer"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam Signing")])
    certificate.write_bytes(issued(name, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam CA")])))
    verified = provisioned.verify("--certificate", str(certificate))
    assert verified.exit_code == 1
    assert verified.finding("component.signer_untrusted")["message"].startswith(
        "the certificate given matches no trusted signer in the policy"
    )
    assert verified.finding("fic.missing")


def test_without_a_policy_it_says_which_variable_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)
    code = main(["verify", "--environment-id", "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"])
    assert code == 2
    assert "PPMI_POLICY_FILE is not set" in capsys.readouterr().err


def test_an_unreadable_certificate_is_refused_before_anything_is_read(
    provisioned: Provisioned, tmp_path: Path
) -> None:
    before = len(provisioned.sandbox.requests)
    verified = provisioned.verify("--certificate", str(tmp_path / "missing.cer"))
    assert verified.exit_code == 2
    assert "cannot read" in verified.stderr
    assert verified.report["error"]["kind"] == "usage"  # the JSON answer is the error, and only that
    assert len(provisioned.sandbox.requests) == before


def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    shown = capsys.readouterr().out
    assert "ppmi verify --environment-id" in shown
    assert "exit codes: 0 every link holds" in shown
