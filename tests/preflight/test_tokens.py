"""A token for each audience the policy needs, and whose it is."""

from __future__ import annotations

from shared.diagnosis import Severity
from shared.preflight import UNREACHABLE, Outcome
from tests.preflight.conftest import Tenant, finding

OTHER_TENANT = "0b7e51b3-8a0e-4a4c-9d33-2f6c3d1e9a77"


def test_tokens_from_another_tenant_than_the_policy_s_are_errors(tenant: Tenant) -> None:
    tenant.edit_policy(tenantId=OTHER_TENANT)

    report = tenant.run()

    tokens = [f for f in report.findings if f.code == "token.other_tenant"]
    assert {f.resource for f in tokens} >= {
        "https://api.powerplatform.com/.default",
        "https://management.azure.com/.default",
    }
    assert tokens[0].evidence.expected == OTHER_TENANT
    assert tokens[0].evidence.actual == tenant.sandbox.env["PPMI_TENANT_ID"]


def test_the_admin_api_audience_is_asked_only_when_ppmi_manages_application_users(tenant: Tenant) -> None:
    before = {c.target for c in tenant.run().checks if c.area == "tokens"}
    tenant.edit_policy(manageApplicationUser="true")
    after = {c.target for c in tenant.run().checks if c.area == "tokens"}

    assert after - before == {"https://service.powerapps.com/.default"}


def test_without_a_credential_the_checks_that_need_a_token_are_skipped(tenant: Tenant) -> None:
    """No managed identity, and only environment variables tried (no IMDS, no `az`): no credential at all."""
    tenant.monkeypatch.delenv("IDENTITY_ENDPOINT")
    tenant.monkeypatch.delenv("IDENTITY_HEADER")
    tenant.monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")

    report = tenant.run()

    unavailable = [f for f in report.findings if f.code == "token.unavailable"]
    assert len(unavailable) == 2
    assert all(f.severity is Severity.ERROR for f in unavailable)
    assert "AZURE_CLIENT_ID" in unavailable[0].fix
    skipped = {c.target for c in report.checks if c.outcome is Outcome.SKIPPED}
    assert skipped == {"Power Platform API", "Azure Resource Manager"}


class StrangerTokens:
    """Tokens the sandbox's Entra issues to another application than ppmi's, as if run as someone else."""

    def __init__(self, tenant: Tenant) -> None:
        self._control = tenant.sandbox.control
        self.application = self._control.create_application("someone else")

    async def token(self, scope: str) -> str:
        resource = scope.removesuffix("/.default")
        return self._control.mint_token(
            resource, app_id=self.application.app_id, object_id=self.application.service_principal_id
        )


def test_a_token_for_another_identity_says_the_rights_checked_are_not_ppmi_s(tenant: Tenant) -> None:
    stranger = StrangerTokens(tenant)

    report = tenant.run(tokens=stranger)

    other = finding(report, "token.not_service_identity")
    assert other.evidence.actual == stranger.application.app_id
    assert other.evidence.expected == tenant.sandbox.env["AZURE_CLIENT_ID"].lower()
    assert other.severity is Severity.WARNING


def test_a_token_endpoint_that_refuses_is_unreachable_not_a_set_up_problem(tenant: Tenant) -> None:
    tenant.monkeypatch.setenv("IDENTITY_HEADER", "from-an-earlier-run")

    report = tenant.run()

    assert {f.code for f in report.findings} == {UNREACHABLE}
    assert {f.resource for f in report.findings} == {
        "https://api.powerplatform.com/.default",
        "https://management.azure.com/.default",
    }
    assert report.only_unreachable
