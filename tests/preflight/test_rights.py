"""ppmi's ARM rights, read through the permissions API, named action by action with the role that has it."""

from __future__ import annotations

from shared.diagnosis import Severity
from tests.preflight.conftest import Tenant, finding

KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def test_no_right_on_the_identity_group_names_each_action_and_the_role(tenant: Tenant) -> None:
    tenant.deploy(PPMI_IDENTITY_RESOURCE_GROUP=None)

    missing = finding(tenant.run(), "rights.missing")

    assert missing.severity is Severity.ERROR
    assert str(missing.resource).endswith("/resourceGroups/rg-ppmi-identities")
    assert missing.evidence.expected == "Managed Identity Contributor"
    assert len(missing.evidence.details) == 6
    assert missing.evidence.details[1].startswith(
        "Microsoft.ManagedIdentity/userAssignedIdentities/write: to "
    )
    assert "az role assignment create" in missing.fix
    assert tenant.sandbox.env["AZURE_CLIENT_ID"] in missing.fix


def test_no_delegation_on_the_grant_scope_is_named_with_its_fix(tenant: Tenant) -> None:
    tenant.deploy(PPMI_GRANT_SCOPES=[])

    report = tenant.run()

    missing = [f for f in report.findings if f.code == "rights.missing" and f.severity is Severity.ERROR]
    assert [f.resource for f in missing] == [
        f"/subscriptions/{tenant.sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-kv"
        "/providers/Microsoft.KeyVault/vaults/kv-demo"
    ]
    assert [d.split(":")[0] for d in missing[0].evidence.details] == [
        "Microsoft.Authorization/roleAssignments/read",
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Authorization/roleAssignments/delete",
    ]
    assert "ppmi policy deployment-parameters" in missing[0].fix


def test_without_the_deployment_s_grant_scopes_the_subscription_listing_is_a_warning(tenant: Tenant) -> None:
    """Outside the Function App ppmi also lists its grants at the subscription (shared.engine.listing_scopes),
    where the deployment gives it no right: grants the policy dropped would stay, nothing fails."""
    tenant.monkeypatch.delenv("PPMI_GRANT_SCOPES")

    report = tenant.run()

    listing = finding(report, "rights.missing")
    assert listing.severity is Severity.WARNING
    assert listing.resource == f"/subscriptions/{tenant.sandbox.env['PPMI_SUBSCRIPTION_ID']}"
    assert not report.errors


def test_a_reported_condition_that_leaves_out_a_policy_role_is_an_error(tenant: Tenant) -> None:
    tenant.sandbox.configure(permissions_report_conditions=True)
    tenant.deploy(PPMI_GRANTED_ROLE_IDS=[READER])

    excluded = finding(tenant.run(), "rights.condition_excludes_role")

    assert excluded.evidence.expected == KEY_VAULT_SECRETS_USER
    assert READER in (excluded.evidence.actual or "")


def test_a_reported_condition_naming_every_policy_role_passes(tenant: Tenant) -> None:
    tenant.sandbox.configure(permissions_report_conditions=True)

    report = tenant.run()

    assert report.findings == ()
    grant = [c for c in report.checks if c.seen.get("purpose") == "roleGrants[0] scope"]
    assert "shows no ABAC condition" not in grant[0].conclusion


def test_without_a_reported_condition_the_report_says_what_it_cannot_see(tenant: Tenant) -> None:
    report = tenant.run()

    (grant,) = [c for c in report.checks if c.seen.get("purpose") == "roleGrants[0] scope"]
    assert "shows no ABAC condition" in grant.conclusion
    assert "ppmi policy deployment-parameters --check" in grant.conclusion
