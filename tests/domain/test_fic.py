"""FIC values against the documented vectors and certificates made in the test."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from shared.fic import (
    PPMI_APP_ID,
    CertificateError,
    Cloud,
    FederatedCredentialError,
    Signer,
    SubjectEnvironmentSegment,
    encode_guid,
    federated_credential,
    federated_credential_name,
    legacy_issuer,
    load_certificate,
)
from tests.domain.certificates import ca_issued_der, name_claiming_self, self_signed_der, simple_name

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
PUBLIC_PREFIX = f"/eid1/c/pub/t/ABksf9SfiUuR03mmSZlvCg/a/qzXoWDkuqUa3l6zM5mM0Rw/n/plugin/e/{ENVIRONMENT}"


def name_hash(rendered: str) -> str:
    digest = hashlib.sha256(rendered.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_tenant_guid_is_encoded_in_dotnet_byte_order() -> None:
    assert encode_guid(TENANT) == "ABksf9SfiUuR03mmSZlvCg"


def test_power_platform_app_is_encoded_to_the_documented_segment() -> None:
    assert encode_guid(PPMI_APP_ID) == "qzXoWDkuqUa3l6zM5mM0Rw"


def test_legacy_issuer_splits_the_last_two_characters_into_their_own_label() -> None:
    assert legacy_issuer(ENVIRONMENT) == (
        "https://7efcc31ac410e20e9b95dd448cedf6.53.environment.api.powerplatform.com/sts"
    )


def test_self_signed_certificate_is_trusted_by_the_hash_of_its_der() -> None:
    der = self_signed_der()
    certificate = load_certificate(der)

    credential = federated_credential(
        tenant_id=TENANT, environment_id=ENVIRONMENT, signer=Signer.from_certificate(certificate)
    )

    assert certificate.is_self_signed
    assert credential.subject == f"{PUBLIC_PREFIX}/h/{hashlib.sha256(der).hexdigest()}"
    assert credential.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert credential.audience == "api://AzureADTokenExchange"


def test_ca_issued_leaf_is_trusted_by_hashes_of_its_dotnet_rendered_names() -> None:
    pair = ca_issued_der()
    certificate = load_certificate(pair.leaf_der)

    credential = federated_credential(
        tenant_id=TENANT, environment_id=ENVIRONMENT, signer=Signer.from_certificate(certificate)
    )

    issuer_hash = name_hash("CN=Contoso Code Signing CA, O=Contoso, C=US")
    subject_hash = name_hash("CN=Contoso Signing, O=Contoso, C=US")
    assert not certificate.is_self_signed
    assert credential.subject == f"{PUBLIC_PREFIX}/i/{issuer_hash}/s/{subject_hash}"
    assert len(issuer_hash) == len(subject_hash) == 43


def test_names_given_by_the_caller_win_over_rendered_ones() -> None:
    certificate = load_certificate(ca_issued_der().leaf_der)
    signer = Signer.from_certificate(
        certificate, issuer_name="CN=Given Issuer, O=X", subject_name="CN=Given Subject, O=X"
    )

    credential = federated_credential(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer)

    assert credential.subject.endswith(
        f"/i/{name_hash('CN=Given Issuer, O=X')}/s/{name_hash('CN=Given Subject, O=X')}"
    )


def test_issuer_equal_to_subject_without_a_matching_signature_is_not_self_signed() -> None:
    certificate = load_certificate(name_claiming_self(simple_name("Look-alike")))

    assert not certificate.is_self_signed


@pytest.mark.parametrize(
    ("cloud", "issuer_host", "prefix", "audience"),
    [
        (Cloud.PUBLIC, "login.microsoftonline.com", "/eid1/c/pub/", "api://AzureADTokenExchange"),
        (Cloud.GCC, "login.microsoftonline.com", "/eid1/c/pub/", "api://AzureADTokenExchange"),
        (Cloud.GCC_HIGH, "login.microsoftonline.us", "/eid1/c/usg/", "api://AzureADTokenExchangeUSGov"),
        (Cloud.DOD, "login.microsoftonline.us", "/eid1/c/usg/", "api://AzureADTokenExchangeUSGov"),
        (Cloud.CHINA, "login.partner.microsoftonline.cn", "/eid1/c/chn/", "api://AzureADTokenExchangeChina"),
    ],
)
def test_sovereign_clouds_change_issuer_host_subject_prefix_and_audience(
    cloud: Cloud, issuer_host: str, prefix: str, audience: str
) -> None:
    signer = Signer(self_signed=True, sha256_hex="ab" * 32)

    credential = federated_credential(
        tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer, cloud=cloud
    )

    assert credential.issuer == f"https://{issuer_host}/{TENANT}/v2.0"
    assert credential.subject.startswith(prefix + "t/ABksf9SfiUuR03mmSZlvCg/")
    assert credential.audience == audience


def test_subject_environment_segment_can_use_the_organization_id() -> None:
    organization = "0b7d5a3c-1111-4222-8333-944455556666"

    credential = federated_credential(
        tenant_id=TENANT,
        environment_id=ENVIRONMENT,
        signer=Signer(self_signed=True, sha256_hex="ab" * 32),
        organization_id=organization,
        environment_segment=SubjectEnvironmentSegment.ORGANIZATION_ID,
    )

    assert f"/e/{organization}/h/" in credential.subject


def test_organization_segment_without_an_organization_id_is_refused() -> None:
    with pytest.raises(FederatedCredentialError, match="organization ID"):
        federated_credential(
            tenant_id=TENANT,
            environment_id=ENVIRONMENT,
            signer=Signer(self_signed=True, sha256_hex="ab" * 32),
            environment_segment=SubjectEnvironmentSegment.ORGANIZATION_ID,
        )


def test_default_environment_id_is_kept_as_is_in_the_subject() -> None:
    environment = f"Default-{TENANT}"

    credential = federated_credential(
        tenant_id=TENANT, environment_id=environment, signer=Signer(self_signed=True, sha256_hex="ab" * 32)
    )

    assert f"/e/{environment}/h/" in credential.subject


def test_legacy_format_uses_the_upper_case_sha1_thumbprint() -> None:
    der = self_signed_der()
    signer = Signer.from_certificate(load_certificate(der))

    credential = federated_credential(
        tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer, format_version=0
    )

    thumbprint = hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()
    assert credential.subject == f"component:pluginassembly,thumbprint:{thumbprint},environment:{ENVIRONMENT}"
    assert credential.issuer == legacy_issuer(ENVIRONMENT)


def test_format_one_puts_the_common_names_in_the_subject() -> None:
    signer = Signer(
        self_signed=False,
        issuer_name="CN=Contoso CA, O=Contoso",
        subject_name="CN=Contoso Signing, O=Contoso",
    )

    credential = federated_credential(
        tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer, format_version=1
    )

    assert credential.subject == f"{PUBLIC_PREFIX}/i/Contoso CA/s/Contoso Signing"


def test_format_one_refuses_a_common_name_with_a_comma() -> None:
    signer = Signer(self_signed=False, issuer_name='CN="Contoso, Inc CA"', subject_name="CN=Signing")

    with pytest.raises(FederatedCredentialError, match="use format 2"):
        federated_credential(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer, format_version=1)


def test_values_longer_than_600_characters_are_refused_with_the_limit_named() -> None:
    signer = Signer(self_signed=False, issuer_name="CN=" + "a" * 600, subject_name="CN=Signing")

    with pytest.raises(
        FederatedCredentialError, match=r"subject is \d+ characters; Entra accepts at most 600"
    ):
        federated_credential(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=signer, format_version=1)


def test_unknown_format_version_is_refused() -> None:
    with pytest.raises(FederatedCredentialError, match="use 0, 1 or 2"):
        federated_credential(
            tenant_id=TENANT,
            environment_id=ENVIRONMENT,
            signer=Signer(self_signed=True, sha256_hex="ab" * 32),
            format_version=3,
        )


def test_self_signed_signer_known_only_by_sha1_cannot_make_a_current_format_fic() -> None:
    with pytest.raises(FederatedCredentialError, match="SHA-256"):
        federated_credential(
            tenant_id=TENANT,
            environment_id=ENVIRONMENT,
            signer=Signer(self_signed=True, sha1_thumbprint="AB" * 20),
        )


def test_certificate_reads_the_same_from_der_pem_and_base64() -> None:
    der = self_signed_der()
    pem = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode() + "-----END CERTIFICATE-----\n"

    loaded = {load_certificate(der), load_certificate(pem), load_certificate(base64.b64encode(der).decode())}

    assert len(loaded) == 1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x30\x03\x02\x01\x01", "not a DER X.509 certificate"),
        ("not base64 at all!", "not valid base64"),
        ("", "empty"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", "PEM block"),
        (b"\xff\xfe", "neither DER, PEM nor base64"),
    ],
)
def test_unreadable_certificates_are_refused_with_a_reason(data: bytes | str, reason: str) -> None:
    with pytest.raises(CertificateError, match=reason):
        load_certificate(data)


def test_fic_names_are_stable_and_follow_the_entra_pattern() -> None:
    signer = Signer(self_signed=True, sha256_hex="ab" * 32)

    first = federated_credential_name(ENVIRONMENT, signer)
    again = federated_credential_name(ENVIRONMENT, Signer(self_signed=True, sha256_hex="ab" * 32))
    other_signer = federated_credential_name(ENVIRONMENT, Signer(self_signed=True, sha256_hex="cd" * 32))
    older_format = federated_credential_name(ENVIRONMENT, signer, format_version=1)

    assert first == again
    assert len({first, other_signer, older_format}) == 3
    for name in (first, other_signer, older_format, federated_credential_name(f"Default-{TENANT}", signer)):
        assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}", name)


def test_fic_name_refuses_an_environment_id_with_unsafe_characters() -> None:
    with pytest.raises(FederatedCredentialError, match="cannot be part of a FIC name"):
        federated_credential_name("../x", Signer(self_signed=True, sha256_hex="ab" * 32))


def test_renewed_ca_issued_certificate_with_the_same_names_keeps_its_signer_key() -> None:
    first = Signer.from_certificate(load_certificate(ca_issued_der().leaf_der))
    renewed = Signer.from_certificate(load_certificate(ca_issued_der().leaf_der))

    assert first.sha256_hex != renewed.sha256_hex
    assert first.key == renewed.key
    assert first.matches(renewed)


@pytest.mark.parametrize(
    ("tenant", "environment", "reason"),
    [
        ("contoso.onmicrosoft.com", ENVIRONMENT, "is not a GUID"),
        (TENANT, ENVIRONMENT.upper(), "lowercase GUID"),
        (TENANT, f"{ENVIRONMENT}/h/forged", "lowercase GUID"),
    ],
)
def test_ids_not_in_power_platform_form_are_refused(tenant: str, environment: str, reason: str) -> None:
    with pytest.raises(FederatedCredentialError, match=reason):
        federated_credential(
            tenant_id=tenant,
            environment_id=environment,
            signer=Signer(self_signed=True, sha256_hex="ab" * 32),
        )
