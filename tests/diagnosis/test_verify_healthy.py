"""A freshly provisioned environment verifies clean, in text and in JSON."""

from __future__ import annotations

from tests.diagnosis.conftest import Provisioned


def test_provisioned_environment_has_no_findings_and_exits_zero(provisioned: Provisioned) -> None:
    verified = provisioned.verify()
    assert verified.exit_code == 0, verified.stdout
    assert verified.report["findings"] == []
    assert verified.report["healthy"] is True


def test_provisioned_package_verifies_with_dataverse_cross_check(provisioned: Provisioned) -> None:
    verified = provisioned.verify_package()
    assert verified.exit_code == 0, verified.stdout
    assert verified.report["findings"] == []
    links = {item["link"]: item["target"] for item in verified.report["checked"]}
    assert links["subject cross-check"] == "GetComponentManagedIdentityFIC"


def test_text_report_says_every_link_holds(provisioned: Provisioned) -> None:
    verified = provisioned.verify_package(output="text")
    assert verified.exit_code == 0
    assert "every link holds" in verified.stdout
