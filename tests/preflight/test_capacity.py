"""Room for FICs on every identity ppmi owns, and the identity resource group itself."""

from __future__ import annotations

from typing import Any

from shared.diagnosis import Severity
from tests.preflight.conftest import Tenant, finding

ARM = "https://management.azure.com"
MSI = {"api-version": "2024-11-30"}


def _identity_with_fics(tenant: Tenant, count: int) -> str:
    """An identity ppmi made for the environment, holding `count` FICs."""
    group = f"/subscriptions/{tenant.sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi-identities"
    path = f"{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ppmi-{tenant.environment_id}"
    tags = {"ppmi-owned": "true", "ppmi-environment": tenant.environment_id}
    tenant.sandbox.configure(fic_write_hold_seconds=0)
    with tenant.sandbox.client(ARM) as arm:
        arm.put(ARM + path, params=MSI, json={"location": "westeurope", "tags": tags}).raise_for_status()
        for number in range(count):
            body: dict[str, Any] = {
                "properties": {
                    "issuer": f"https://issuer.example/{number}",
                    "subject": f"subject-{number}",
                    "audiences": ["api://AzureADTokenExchange"],
                }
            }
            arm.put(
                f"{ARM}{path}/federatedIdentityCredentials/fic-{number}", params=MSI, json=body
            ).raise_for_status()
    return path


def test_an_identity_near_entra_s_cap_is_a_warning(tenant: Tenant) -> None:
    path = _identity_with_fics(tenant, 18)

    near = finding(tenant.run(), "capacity.near")

    assert (near.severity, near.resource) == (Severity.WARNING, path)
    assert near.evidence.actual == "18"
    (check,) = [c for c in tenant.run().checks if c.target == path]
    assert check.seen["FICs"] == "18 of 20"


def test_a_full_identity_is_an_error(tenant: Tenant) -> None:
    path = _identity_with_fics(tenant, 20)

    full = finding(tenant.run(), "capacity.full")

    assert (full.severity, full.resource) == (Severity.ERROR, path)


def test_an_identity_with_room_passes(tenant: Tenant) -> None:
    _identity_with_fics(tenant, 3)

    assert tenant.run().findings == ()


def test_a_missing_identity_resource_group_is_named(tenant: Tenant) -> None:
    text = tenant.policy_path.read_text(encoding="utf-8")
    tenant.policy_path.write_text(text.replace("rg-ppmi-identities", "rg-nobody-made"), encoding="utf-8")
    tenant.deploy()

    missing = finding(tenant.run(), "identity.resource_group_missing")

    assert str(missing.resource).endswith("/resourceGroups/rg-nobody-made")
    assert "rg-nobody-made" in (missing.evidence.actual or "")


def test_an_app_registration_s_fics_are_counted_through_graph(tenant: Tenant) -> None:
    application = tenant.sandbox.control.create_application("ppmi plug-ins")
    text = tenant.policy_path.read_text(encoding="utf-8")
    start, end = text.index("identity:"), text.index("trustedSigners:")
    identity = (
        "identity:\n  strategy: app-registration\n"
        f"  applicationObjectId: {application.object_id}\n  applicationId: {application.app_id}\n"
    )
    tenant.policy_path.write_text(text[:start] + identity + text[end:], encoding="utf-8")

    report = tenant.run()

    assert "https://graph.microsoft.com/.default" in {c.target for c in report.checks if c.area == "tokens"}
    (room,) = [c for c in report.checks if c.target == f"application {application.object_id}"]
    assert room.seen["FICs"] == "0 of 20"
    assert not [c for c in report.checks if c.area == "rights"]
