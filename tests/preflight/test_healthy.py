"""A tenant set up as the deployment guide says: every check passes, and preflight writes nothing."""

from __future__ import annotations

from shared.preflight import Outcome
from tests.preflight.conftest import Tenant


def test_a_good_set_up_has_no_finding_and_every_area_was_looked_at(tenant: Tenant) -> None:
    report = tenant.run()

    assert report.findings == ()
    assert not report.errors
    assert {check.area for check in report.checks} == {
        "tokens",
        "environments",
        "rights",
        "dataverse",
        "capacity",
    }
    assert {check.outcome for check in report.checks} <= {Outcome.OK, Outcome.SKIPPED}


def test_it_reads_only(tenant: Tenant) -> None:
    since = len(tenant.sandbox.requests)
    tenant.run()
    methods = {request.method for request in tenant.sandbox.requests[since:] if request.service != "token"}
    assert methods == {"GET"}


def test_it_reports_the_values_it_saw_and_what_they_mean(tenant: Tenant) -> None:
    report = tenant.run()

    (environment,) = [
        c for c in report.checks if c.area == "environments" and c.target == tenant.environment_id
    ]
    assert environment.seen["state"] == "Enabled"
    assert environment.seen["tenantId"] == tenant.policy.tenant_id
    assert environment.seen["url host suffix"] == "crm.dynamics.com"
    assert "live with Dataverse" in environment.conclusion
    assert "the policy's tenant" in environment.conclusion
    assert "on the allow-list" in environment.conclusion


def test_dataverse_s_own_subject_is_asked_for_the_environment_s_package(tenant: Tenant) -> None:
    report = tenant.run(tenant.environment_id)

    subjects = [c for c in report.checks if "subject" in c.seen]
    assert [c.seen["component"] for c in subjects] == [f"pluginpackage {tenant.package_id}"]
    assert f"/e/{tenant.environment_id}/" in subjects[0].seen["subject"]
