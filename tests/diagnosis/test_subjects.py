"""Subject comparison names the segment that differs and what it holds instead."""

from __future__ import annotations

import base64
import hashlib
from uuid import UUID

from shared.diagnosis import SubjectFacts, subject_differences
from shared.fic import PPMI_APP_ID, Signer, encode_guid, federated_credential

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
ORGANIZATION = "0b8a3c1e-2f4d-4e6a-9c1b-3d5e7f9a1b2c"
CLIENT_ID = "11111111-2222-4333-8444-555555555555"
SHA256 = hashlib.sha256(b"certificate").hexdigest()
SELF_SIGNED = Signer(self_signed=True, sha256_hex=SHA256, sha1_thumbprint="A" * 40)
CA_ISSUED = Signer(
    self_signed=False,
    issuer_name="CN=Contoso Code Signing CA, O=Contoso, C=US",
    subject_name="CN=Contoso Signing, O=Contoso, C=US",
)
FACTS = SubjectFacts(
    tenant_id=TENANT,
    environment_id=ENVIRONMENT,
    signer=SELF_SIGNED,
    organization_id=ORGANIZATION,
    identity_client_id=CLIENT_ID,
)


def subject(signer: Signer = SELF_SIGNED) -> str:
    return federated_credential(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer).subject


def big_endian(guid: str) -> str:
    return base64.urlsafe_b64encode(UUID(guid).bytes).rstrip(b"=").decode()


def test_identical_subjects_have_no_difference() -> None:
    assert subject_differences(subject(), subject(), FACTS) == ()


def test_tenant_in_rfc_byte_order_is_named_as_such() -> None:
    wrong = subject().replace(encode_guid(TENANT), big_endian(TENANT))
    (difference,) = subject_differences(subject(), wrong, FACTS)
    assert difference.label == "tenant encoding"
    assert "RFC 4122 byte order" in difference.explanation
    assert "ABksf9SfiUuR03mmSZlvCg" in difference.explanation


def test_identity_client_id_in_the_app_segment_is_recognised() -> None:
    wrong = subject().replace(encode_guid(PPMI_APP_ID), encode_guid(CLIENT_ID))
    (difference,) = subject_differences(subject(), wrong, FACTS)
    assert difference.label == "PPMI app"
    assert "the identity's own client ID" in difference.explanation


def test_organization_id_in_the_environment_segment_is_recognised() -> None:
    wrong = subject().replace(f"/e/{ENVIRONMENT}/", f"/e/{ORGANIZATION}/")
    (difference,) = subject_differences(subject(), wrong, FACTS)
    assert difference.label == "environment"
    assert "Dataverse organization ID" in difference.explanation


def test_ca_issued_form_for_a_self_signed_certificate_is_h_versus_i_s() -> None:
    (difference,) = subject_differences(subject(), subject(CA_ISSUED), FACTS)
    assert difference.label == "h/ vs i/s"
    assert "self-signed" in difference.explanation


def test_hash_in_base64url_instead_of_hex_is_named() -> None:
    encoded = base64.urlsafe_b64encode(bytes.fromhex(SHA256)).rstrip(b"=").decode()
    (difference,) = subject_differences(subject(), subject().replace(SHA256, encoded), FACTS)
    assert difference.label == "hash"
    assert "Base64URL" in difference.explanation


def test_sha1_thumbprint_in_place_of_the_sha256_is_named() -> None:
    (difference,) = subject_differences(subject(), subject().replace(SHA256, "A" * 40), FACTS)
    assert "SHA-1 thumbprint" in difference.explanation


def test_issuer_name_hash_difference_shows_the_dotnet_rendering() -> None:
    facts = SubjectFacts(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=CA_ISSUED)
    other = Signer(
        self_signed=False,
        issuer_name="CN=Contoso Code Signing CA,O=Contoso,C=US",
        subject_name=CA_ISSUED.subject_name,
    )
    (difference,) = subject_differences(subject(CA_ISSUED), subject(other), facts)
    assert difference.segment == "i"
    assert "'CN=Contoso Code Signing CA, O=Contoso, C=US'" in difference.explanation


def test_format_2_hashes_where_a_version_1_row_presents_the_cn_are_named() -> None:
    facts = SubjectFacts(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=CA_ISSUED)
    version_1 = federated_credential(
        tenant_id=TENANT, environment_id=ENVIRONMENT, signer=CA_ISSUED, format_version=1
    ).subject
    issuer, subject_name = subject_differences(version_1, subject(CA_ISSUED), facts)
    assert "a version 1 row makes Dataverse present the CN 'Contoso Code Signing CA'" in issuer.explanation
    assert (issuer.segment, subject_name.segment) == ("i", "s")


def test_legacy_subject_against_a_current_one_is_a_format_difference() -> None:
    legacy = f"component:pluginassembly,thumbprint:{'A' * 40},environment:{ENVIRONMENT}"
    (difference,) = subject_differences(subject(), legacy, FACTS)
    assert difference.label == "format"
    assert "legacy (format 0)" in difference.explanation
