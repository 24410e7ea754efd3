"""Dataverse links: access, the managedidentity row, the component's binding, and the role grants."""

from __future__ import annotations

from uuid import uuid4

import pytest

from shared.fic import legacy_issuer
from tests.diagnosis.conftest import ROLES_VERSION, Provisioned


def test_service_without_application_user_is_told_how_to_add_it(provisioned: Provisioned) -> None:
    provisioned.remove_application_user()
    verified = provisioned.verify_package()
    finding = verified.finding("dataverse.not_application_user")
    assert verified.exit_code == 1
    service = provisioned.sandbox.env["AZURE_CLIENT_ID"]
    assert finding["message"].startswith(f"ppmi's identity ({service}) is not an application user")
    assert "Application users" in finding["fix"]
    assert not [f for f in verified.report["findings"] if f["code"].startswith(("row.", "component."))]


def test_deleted_row_is_row_missing(provisioned: Provisioned) -> None:
    row_id = provisioned.row()["managedidentityid"]
    provisioned.dataverse("DELETE", f"managedidentities({row_id})")
    verified = provisioned.verify()
    finding = verified.finding("row.missing")
    assert verified.exit_code == 1
    assert finding["message"].startswith(f"Dataverse has no managedidentity row {row_id}")


@pytest.mark.parametrize(
    ("column", "value", "code", "text"),
    [
        ("applicationid", str(uuid4()), "row.wrong_application", "Dataverse asks Entra for another identity"),
        ("tenantid", str(uuid4()), "row.wrong_tenant", "Entra looks in another tenant"),
        ("credentialsource", 0, "row.wrong_credential_source", "has credentialsource 0, not 2 (IsManaged)"),
        ("subjectscope", 0, "row.wrong_subject_scope", "has subjectscope 0, not 1 (EnvironmentScope)"),
    ],
)
def test_row_with_a_wrong_column_names_it(
    provisioned: Provisioned, column: str, value: object, code: str, text: str
) -> None:
    row_id = provisioned.row()["managedidentityid"]
    provisioned.dataverse("PATCH", f"managedidentities({row_id})", {column: value})
    verified = provisioned.verify()
    finding = verified.finding(code)
    assert verified.exit_code == 1
    assert text in finding["message"]
    assert finding["actual"] == str(value)


def test_row_patched_back_to_version_1_suggests_the_upgrade(provisioned: Provisioned) -> None:
    row_id = provisioned.row()["managedidentityid"]
    provisioned.dataverse("PATCH", f"managedidentities({row_id})", {"version": 1})
    verified = provisioned.verify()
    finding = verified.finding("row.old_version")
    # A self-signed signer's version 1 subject is its version 2 one: the FIC it has serves the row.
    assert verified.exit_code == 0
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(f"row {row_id} is version 1 (CN-based subject): it works with FICs")
    assert finding["fix"].startswith(f"run `ppmi upgrade --environment-id {provisioned.environment_id}`")


def test_row_at_version_0_expects_the_legacy_issuer_and_suggests_the_upgrade(
    provisioned: Provisioned,
) -> None:
    row_id = provisioned.row()["managedidentityid"]
    provisioned.dataverse("PATCH", f"managedidentities({row_id})", {"version": 0})
    verified = provisioned.verify()
    assert verified.exit_code == 1
    assert "is version 0 (legacy issuer)" in verified.finding("row.old_version")["message"]
    issuer = verified.finding("fic.wrong_issuer")
    assert "a version 0 row makes Entra expect the legacy one" in issuer["message"]
    assert issuer["expected"] == legacy_issuer(provisioned.environment_id)
    assert issuer["fix"].startswith(f"run `ppmi upgrade --environment-id {provisioned.environment_id}`")
    mismatch = verified.finding("fic.subject_mismatch")
    assert str(mismatch["expected"]).startswith("component:pluginassembly,thumbprint:")


def test_unbound_package_is_component_not_bound(provisioned: Provisioned) -> None:
    provisioned.dataverse("DELETE", f"pluginpackages({provisioned.package_id})/managedidentityid/$ref")
    verified = provisioned.verify_package()
    finding = verified.finding("component.not_bound")
    assert verified.exit_code == 1
    assert finding["message"].startswith(f"plug-in package {provisioned.package_id} (")
    assert "is bound to no managedidentity row" in finding["message"]
    assert (
        f"ppmi publish ppmi.pluginpackage.registered --environment-id {provisioned.environment_id}"
        in (finding["fix"])
    )


def test_package_bound_to_another_identitys_row_is_bound_elsewhere(provisioned: Provisioned) -> None:
    own = provisioned.row()["managedidentityid"]
    other = str(uuid4())
    provisioned.dataverse(
        "POST",
        "managedidentities",
        {
            "managedidentityid": other,
            "applicationid": str(uuid4()),
            "tenantid": provisioned.tenant_id,
            "credentialsource": 2,
            "subjectscope": 1,
            "version": 2,
        },
    )
    provisioned.dataverse(
        "PATCH",
        f"pluginpackages({provisioned.package_id})",
        {"managedidentityid@odata.bind": f"/managedidentities({other})"},
    )
    verified = provisioned.verify_package()
    finding = verified.finding("component.bound_elsewhere")
    assert verified.exit_code == 1
    assert finding["severity"] == "error"
    assert f"is bound to managedidentity row {other}" in finding["message"]
    assert finding["message"].endswith("which points at another identity")
    assert (finding["expected"], finding["actual"]) == (own, other)


def test_unknown_package_is_component_missing(provisioned: Provisioned) -> None:
    missing = str(uuid4())
    verified = provisioned.verify("--plugin-package-id", missing)
    finding = verified.finding("component.missing")
    assert verified.exit_code == 1
    assert finding["message"] == (
        f"plug-in package {missing} does not exist in environment {provisioned.environment_id}"
    )


def test_deleted_role_assignment_is_role_missing(provisioned: Provisioned) -> None:
    principal = provisioned.identity["properties"]["principalId"]
    (assignment,) = [
        a
        for a in provisioned.sandbox.control.dump()["roleAssignments"]
        if a["properties"]["principalId"] == principal
    ]
    provisioned.arm("DELETE", assignment["id"], params=ROLES_VERSION)
    verified = provisioned.verify()
    finding = verified.finding("role.missing")
    assert verified.exit_code == 1
    assert finding["message"].startswith("the identity lacks role 4633458b-17de-408a-b874-0445c86b69e6")
    assert f"--assignee-object-id {principal}" in finding["fix"]


def test_dataverse_presenting_the_organization_id_differs_from_ppmis_subject(
    provisioned: Provisioned,
) -> None:
    provisioned.sandbox.configure(fic_subject_environment="organization")
    verified = provisioned.verify_package()
    finding = verified.finding("component.subject_differs")
    assert verified.exit_code == 1
    assert "(environment differs)" in finding["message"]
    assert "subjectEnvironmentSegment" in finding["fix"]
    mismatch = verified.finding("fic.subject_mismatch")
    assert mismatch["expected"] == finding["expected"]
    assert "(environment differs)" in mismatch["message"]


def test_unknown_environment_is_environment_missing(provisioned: Provisioned) -> None:
    unknown = str(uuid4())
    provisioned.environment_id = unknown
    verified = provisioned.verify()
    assert verified.exit_code == 1
    assert verified.finding("environment.missing")["message"] == (
        f"the Power Platform API knows no environment {unknown}"
    )


def test_verify_only_reads(provisioned: Provisioned) -> None:
    before = len(provisioned.sandbox.requests)
    provisioned.verify_package()
    methods = {record.method for record in provisioned.sandbox.requests[before:]}
    assert methods == {"GET"}
