"""Identity and FIC links, each broken as it breaks in the field, each named with its evidence and fix."""

from __future__ import annotations

import base64
from uuid import UUID, uuid4

from cryptography import x509
from cryptography.x509.oid import NameOID

from shared.fic import PPMI_APP_ID, encode_guid, legacy_issuer
from tests.diagnosis.conftest import Provisioned
from tests.sandbox.certificates import issued

AUDIENCE = "api://AzureADTokenExchange"


def _only_fic(provisioned: Provisioned) -> tuple[str, str, str]:
    (fic,) = provisioned.fics()
    return fic["name"], fic["properties"]["issuer"], fic["properties"]["subject"]


def test_deleted_identity_is_identity_missing(provisioned: Provisioned) -> None:
    provisioned.arm("DELETE", provisioned.identity_path)
    verified = provisioned.verify()
    finding = verified.finding("identity.missing")
    assert verified.exit_code == 1
    assert finding["message"] == (
        f"no identity for environment {provisioned.environment_id} exists "
        f"({finding['expected']}), so no plug-in there can get a token"
    )
    assert str(finding["expected"]).endswith(f"/userAssignedIdentities/ppmi-{provisioned.environment_id}")
    assert "ppmi.environment.reconcile" in finding["fix"]
    assert not [f for f in verified.report["findings"] if f["code"].startswith("fic.")]


def test_deleted_fic_is_fic_missing(provisioned: Provisioned) -> None:
    name, _, subject = _only_fic(provisioned)
    provisioned.arm("DELETE", f"{provisioned.identity_path}/federatedIdentityCredentials/{name}")
    verified = provisioned.verify()
    finding = verified.finding("fic.missing")
    assert verified.exit_code == 1
    assert (
        finding["message"]
        == "no FIC on the identity trusts contoso-demo-1, so Entra refuses its token exchange"
    )
    assert subject in finding["expected"]
    assert finding["actual"] == "no FICs"


def _mismatch(provisioned: Provisioned, subject: str) -> dict[str, object]:
    name, issuer, _ = _only_fic(provisioned)
    provisioned.put_fic(name, issuer=issuer, subject=subject, audience=AUDIENCE)
    verified = provisioned.verify()
    assert verified.exit_code == 1
    return verified.finding("fic.subject_mismatch")


def test_tenant_in_rfc_byte_order_is_a_subject_mismatch_in_the_tenant_encoding(
    provisioned: Provisioned,
) -> None:
    _, _, subject = _only_fic(provisioned)
    tenant = provisioned.tenant_id
    rfc_order = base64.urlsafe_b64encode(UUID(tenant).bytes).rstrip(b"=").decode()
    finding = _mismatch(provisioned, subject.replace(encode_guid(tenant), rfc_order))
    assert "(tenant encoding differs)" in str(finding["message"])
    assert finding["expected"] == subject
    assert "RFC 4122 byte order" in str(finding["details"])


def test_identity_client_id_in_the_app_segment_is_a_subject_mismatch_of_the_ppmi_app(
    provisioned: Provisioned,
) -> None:
    _, _, subject = _only_fic(provisioned)
    client_id = provisioned.identity["properties"]["clientId"]
    finding = _mismatch(provisioned, subject.replace(encode_guid(PPMI_APP_ID), encode_guid(client_id)))
    assert "(PPMI app differs)" in str(finding["message"])
    assert "the identity's own client ID" in str(finding["details"])


def test_organization_id_in_the_environment_segment_is_a_subject_mismatch_of_the_environment(
    provisioned: Provisioned,
) -> None:
    _, _, subject = _only_fic(provisioned)
    (environment,) = [
        e for e in provisioned.sandbox.control.environments() if e.id == provisioned.environment_id
    ]
    assert environment.organization_id is not None
    finding = _mismatch(provisioned, subject.replace(provisioned.environment_id, environment.organization_id))
    assert "(environment differs)" in str(finding["message"])
    assert "is the Dataverse organization ID" in str(finding["details"])


def test_ca_issued_form_for_a_self_signed_signer_is_a_subject_mismatch_of_h_versus_i_s(
    provisioned: Provisioned,
) -> None:
    _, _, subject = _only_fic(provisioned)
    prefix = subject.split("/h/")[0]
    finding = _mismatch(provisioned, f"{prefix}/i/{'a' * 43}/s/{'b' * 43}")
    assert "(h/ vs i/s differs)" in str(finding["message"])
    message = str(finding["message"])
    assert message.startswith(f"FIC {finding['resource']} has the wrong subject for contoso-demo-1")


def test_another_certificates_hash_is_a_subject_mismatch_of_the_hash(provisioned: Provisioned) -> None:
    _, _, subject = _only_fic(provisioned)
    prefix = subject.split("/h/")[0]
    finding = _mismatch(provisioned, f"{prefix}/h/{'0' * 64}")
    assert "(hash differs)" in str(finding["message"])
    assert "hash of another certificate" in str(finding["details"])


def test_legacy_issuer_while_the_row_says_version_2_is_a_wrong_issuer(provisioned: Provisioned) -> None:
    name, _, subject = _only_fic(provisioned)
    legacy = legacy_issuer(provisioned.environment_id)
    provisioned.put_fic(name, issuer=legacy, subject=subject, audience=AUDIENCE)
    verified = provisioned.verify()
    finding = verified.finding("fic.wrong_issuer")
    assert verified.exit_code == 1
    assert "the legacy (format 0) issuer, but the row says version 2" in finding["message"]
    assert finding["expected"] == f"https://login.microsoftonline.com/{provisioned.tenant_id}/v2.0"
    assert finding["actual"] == legacy


def test_lowercase_audience_is_an_audience_casing_finding(provisioned: Provisioned) -> None:
    name, issuer, subject = _only_fic(provisioned)
    provisioned.put_fic(name, issuer=issuer, subject=subject, audience="api://azureadtokenexchange")
    verified = provisioned.verify()
    finding = verified.finding("fic.audience_casing")
    assert verified.exit_code == 1
    assert "differs from api://AzureADTokenExchange only in letter case" in finding["message"]
    assert (finding["expected"], finding["actual"]) == (AUDIENCE, "api://azureadtokenexchange")


def test_another_audience_is_a_wrong_audience(provisioned: Provisioned) -> None:
    name, issuer, subject = _only_fic(provisioned)
    provisioned.put_fic(name, issuer=issuer, subject=subject, audience="api://AzureADTokenExchangeUSGov")
    verified = provisioned.verify()
    finding = verified.finding("fic.wrong_audience")
    assert verified.exit_code == 1
    assert finding["message"].endswith(f"has the audience api://AzureADTokenExchangeUSGov, not {AUDIENCE}")


def test_eighteen_fics_warn_of_the_cap_but_still_exit_zero(provisioned: Provisioned) -> None:
    _, issuer, subject = _only_fic(provisioned)
    for index in range(17):
        other = f"{subject.split('/e/')[0]}/e/{uuid4()}/h/{index:064x}"
        provisioned.put_fic(f"other-{index:02d}", issuer=issuer, subject=other, audience=AUDIENCE)
    verified = provisioned.verify()
    finding = verified.finding("fic.near_limit")
    assert verified.exit_code == 0
    assert finding["severity"] == "warning"
    assert finding["message"].startswith("the identity holds 18 of the 20 FICs Entra allows")


def test_component_signed_by_an_untrusted_certificate_is_named(provisioned: Provisioned) -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam Signing")])
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam CA")])
    package_id = provisioned.sandbox.control.register_plugin_package(
        provisioned.environment_id, issued(name, issuer), name="Fabrikam.Package"
    )
    verified = provisioned.verify("--plugin-package-id", package_id)
    finding = verified.finding("component.signer_untrusted")
    assert verified.exit_code == 1
    assert (
        f"plug-in package {package_id} is signed by a certificate that no trusted signer"
        in finding["message"]
    )
    assert "h/ vs i/s" not in finding["message"]
    assert f"--plugin-package-id {package_id}" in finding["fix"]
    assert verified.finding("fic.missing")["message"].startswith(
        "no FIC on the identity trusts plug-in package"
    )
