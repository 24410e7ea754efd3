"""Dataverse as ppmi uses it: an application user, the managedidentity table, Dataverse's own subject."""

from __future__ import annotations

from shared.clients.environments import EnvironmentInfo
from shared.diagnosis import Severity
from shared.fic import encode_guid
from shared.preflight._dataverse import subject_problems
from tests.preflight.conftest import Tenant, finding


def _remove_application_user(tenant: Tenant) -> None:
    """What an admin does in the admin center: the service's application user is deleted."""
    organization = tenant.sandbox.runtime.state.environments[tenant.environment_id].organization
    assert organization is not None

    def remove() -> None:
        organization.table("systemusers").clear()
        organization.privileged_app_ids.clear()

    tenant.sandbox.call_in_loop(remove)


def test_no_application_user_is_an_error_with_the_pac_command(tenant: Tenant) -> None:
    _remove_application_user(tenant)

    missing = finding(tenant.run(tenant.environment_id), "dataverse.not_application_user")

    assert missing.severity is Severity.ERROR
    assert "pac admin assign-user" in missing.fix


def test_no_application_user_is_a_warning_when_ppmi_adds_itself(tenant: Tenant) -> None:
    _remove_application_user(tenant)
    tenant.edit_policy(manageApplicationUser="true")

    missing = finding(tenant.run(tenant.environment_id), "dataverse.not_application_user")

    assert missing.severity is Severity.WARNING
    assert "manageApplicationUser" in missing.fix


def test_an_application_user_without_a_security_role_is_named(tenant: Tenant) -> None:
    _remove_application_user(tenant)
    tenant.sandbox.control.add_application_user(
        tenant.environment_id, tenant.sandbox.env["AZURE_CLIENT_ID"], privileged=False
    )

    refused = finding(tenant.run(tenant.environment_id), "dataverse.no_privilege")

    assert "security role" in refused.message
    assert "0x80040220" not in refused.message
    assert "prvReadpluginpackage" in (refused.evidence.actual or "")


def test_a_dataverse_without_the_managedidentity_table_is_an_error(tenant: Tenant) -> None:
    tenant.sandbox.configure(dataverse_absent_tables=["managedidentity"])

    missing = finding(tenant.run(tenant.environment_id), "dataverse.table_missing")

    assert missing.severity is Severity.ERROR
    assert "managedidentity" in missing.message


def test_the_table_s_choices_are_shown(tenant: Tenant) -> None:
    report = tenant.run(tenant.environment_id)

    (table,) = [c for c in report.checks if "table" in c.seen]
    assert "2 IsManaged" in table.seen["choices"]
    assert "1 EnviornmentScope" in table.seen["choices"]


def test_a_dataverse_that_does_not_offer_the_subject_function_is_a_warning(tenant: Tenant) -> None:
    tenant.sandbox.configure(component_subject_supported=False)

    report = tenant.run(tenant.environment_id)

    offered = finding(report, "subject.function_not_offered")
    assert offered.severity is Severity.WARNING
    assert not report.errors


def test_a_subject_with_the_organisation_in_e_tells_which_setting_to_change(tenant: Tenant) -> None:
    """Whether e/ holds the environment or the organisation ID is UNCONFIRMED: preflight reads Dataverse's."""
    tenant.sandbox.configure(fic_subject_environment="organization")

    segment = finding(tenant.run(tenant.environment_id), "subject.environment_segment")

    assert (segment.evidence.expected, segment.evidence.actual) == ("environment-id", "organization-id")
    assert segment.fix == "set subjectEnvironmentSegment: organization-id in the policy"


def test_with_the_policy_set_to_the_organisation_that_subject_passes(tenant: Tenant) -> None:
    tenant.sandbox.configure(fic_subject_environment="organization")
    tenant.edit_policy(subjectEnvironmentSegment="organization-id")

    assert tenant.run(tenant.environment_id).findings == ()


def test_a_subject_naming_another_tenant_is_an_error(tenant: Tenant) -> None:
    """Reached when Dataverse's own subject encodes a tenant other than the policy's (its tokens agree)."""
    url = "https://org.crm.dynamics.com"
    environment = EnvironmentInfo(tenant.environment_id, "Sales", url, None, "Enabled", "Sandbox", None)
    other = encode_guid("0b7e51b3-8a0e-4a4c-9d33-2f6c3d1e9a77")

    (problem,) = subject_problems({"t": other, "e": tenant.environment_id}, environment, tenant.policy)

    assert problem.code == "subject.tenant_mismatch"
    assert (problem.evidence.expected, problem.evidence.actual) == (
        encode_guid(tenant.policy.tenant_id),
        other,
    )
