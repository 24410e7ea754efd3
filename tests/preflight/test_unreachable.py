"""A service that does not answer: named as unreachable, apart from what is wrong with the set-up."""

from __future__ import annotations

from sandbox.faults import FaultProfile, ServiceFaults
from shared.preflight import UNREACHABLE
from tests.preflight.conftest import Tenant


def _unreachable(tenant: Tenant, *services: str) -> None:
    tenant.sandbox.set_faults(FaultProfile(services={s: ServiceFaults(reset_rate=1.0) for s in services}))


def test_an_environments_api_that_resets_every_connection_is_unreachable(tenant: Tenant) -> None:
    _unreachable(tenant, "environments")

    report = tenant.run()

    (unreachable,) = [f for f in report.findings if f.code == UNREACHABLE]
    assert unreachable.resource == "environments"
    assert "the Power Platform API did not answer" in unreachable.message
    assert "--retry-budget" in unreachable.fix
    assert report.only_unreachable


def test_arm_unreachable_is_reported_per_scope_and_nothing_else_is_blamed(tenant: Tenant) -> None:
    _unreachable(tenant, "arm")

    report = tenant.run()

    assert {f.code for f in report.findings} == {UNREACHABLE}
    assert {f.resource for f in report.findings} >= {
        f"/subscriptions/{tenant.sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi-identities"
    }
    assert report.only_unreachable


def test_unreachable_and_a_real_problem_together_are_not_only_unreachable(tenant: Tenant) -> None:
    _unreachable(tenant, "arm")
    tenant.sandbox.configure(dataverse_absent_tables=["managedidentity"])

    report = tenant.run(tenant.environment_id)

    assert "dataverse.table_missing" in report.codes()
    assert not report.only_unreachable
