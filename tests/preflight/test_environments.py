"""The Power Platform API's environments: each field ppmi decides on, and the finding when it would refuse."""

from __future__ import annotations

from shared.diagnosis import Severity
from tests.preflight.conftest import Tenant, finding

OTHER_TENANT = "0b7e51b3-8a0e-4a4c-9d33-2f6c3d1e9a77"


def test_an_environment_of_another_tenant_is_refused_and_its_dataverse_left_alone(tenant: Tenant) -> None:
    tenant.sandbox.configure(environment_tenant_id=OTHER_TENANT)

    report = tenant.run(tenant.environment_id)

    other = finding(report, "environment.other_tenant")
    assert (other.evidence.expected, other.evidence.actual) == (tenant.policy.tenant_id, OTHER_TENANT)
    assert not [c for c in report.checks if c.area == "dataverse"]


def test_a_disabled_environment_named_on_the_command_line_is_an_error(tenant: Tenant) -> None:
    tenant.sandbox.configure(environment_live_state="Disabled")

    disabled = finding(tenant.run(tenant.environment_id), "environment.disabled")

    assert disabled.severity is Severity.ERROR
    assert disabled.evidence.actual == "Disabled"
    assert "enable it" in disabled.fix


def test_disabled_environments_in_scope_are_warnings(tenant: Tenant) -> None:
    """ppmi leaves them out until they are enabled: nothing fails, but the operator should know."""
    tenant.sandbox.configure(environment_live_state="Disabled")

    report = tenant.run()

    assert {f.code for f in report.findings} == {"environment.disabled"}
    assert all(f.severity is Severity.WARNING for f in report.findings)


def test_an_environment_without_dataverse_is_named(tenant: Tenant) -> None:
    bare = tenant.sandbox.control.create_environment(display_name="No database", dataverse=False)

    missing = finding(tenant.run(bare.id), "environment.no_dataverse")

    assert missing.resource == bare.id
    assert "add a Dataverse database" in missing.fix


def test_a_state_ppmi_does_not_know_is_reported_and_does_not_block(tenant: Tenant) -> None:
    tenant.sandbox.configure(environment_live_state="Active")

    report = tenant.run(tenant.environment_id)

    unknown = finding(report, "environment.state_unknown")
    assert unknown.severity is Severity.WARNING
    assert unknown.evidence.actual == "Active"
    assert [c for c in report.checks if c.area == "dataverse"]


def test_an_environment_the_api_does_not_list_is_an_error(tenant: Tenant) -> None:
    unknown = "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"

    missing = finding(tenant.run(unknown), "environment.not_found")

    assert missing.resource == unknown
    assert "pac admin application register" in missing.fix


def test_a_policy_scope_that_matches_nothing_is_a_warning(tenant: Tenant) -> None:
    tenant.edit_policy(environments="{types: [Production]}")

    none = finding(tenant.run(), "environments.none_in_scope")

    assert none.severity is Severity.WARNING


def test_a_dataverse_host_off_the_allow_list_is_refused(tenant: Tenant) -> None:
    tenant.edit_policy(dataverseHostSuffixes="[crm4.dynamics.com]")

    refused = finding(tenant.run(tenant.environment_id), "environment.url_not_allowed")

    assert "crm4.dynamics.com" in refused.message


def test_an_environment_named_outside_the_policy_s_scope_is_an_error(tenant: Tenant) -> None:
    tenant.edit_policy(environments="{types: [Production]}")

    outside = finding(tenant.run(tenant.environment_id), "environment.out_of_scope")

    assert outside.severity is Severity.ERROR
    assert "environments.include" in outside.fix
