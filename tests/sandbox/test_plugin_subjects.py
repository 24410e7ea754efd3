"""The sandbox's own FIC subject computation, checked against the documented vectors and .NET rendering."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from sandbox.plugin_subjects import dotnet_name, guid_segment, plugin_subject
from tests.sandbox.certificates import issued, self_signed

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"


def attribute(oid: ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value)


def test_guid_segment_uses_dotnet_byte_order() -> None:
    assert guid_segment(TENANT) == "ABksf9SfiUuR03mmSZlvCg"
    assert guid_segment("58e835ab-2e39-46a9-b797-accce6633447") == "qzXoWDkuqUa3l6zM5mM0Rw"


@pytest.mark.parametrize(
    ("name", "rendered"),
    [
        (
            x509.Name(
                [
                    attribute(NameOID.COUNTRY_NAME, "US"),
                    attribute(NameOID.ORGANIZATION_NAME, "Contoso"),
                    attribute(NameOID.COMMON_NAME, "Contoso Signing"),
                ]
            ),
            "CN=Contoso Signing, O=Contoso, C=US",
        ),
        (
            x509.Name(
                [
                    x509.RelativeDistinguishedName(
                        [
                            attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Build"),
                            attribute(NameOID.COMMON_NAME, "Signer"),
                        ]
                    )
                ]
            ),
            "OU=Build + CN=Signer",
        ),
        (x509.Name([attribute(NameOID.ORGANIZATION_NAME, 'The "Best" Co')]), 'O="The ""Best"" Co"'),
        (x509.Name([attribute(NameOID.ORGANIZATION_NAME, "Contoso, Ltd.")]), 'O="Contoso, Ltd."'),
        (x509.Name([attribute(NameOID.COMMON_NAME, " padded")]), 'CN=" padded"'),
        (x509.Name([attribute(NameOID.EMAIL_ADDRESS, "sign@contoso.com")]), "E=sign@contoso.com"),
        (x509.Name([attribute(NameOID.STATE_OR_PROVINCE_NAME, "Zürich")]), "S=Zürich"),
        (
            x509.Name(
                [
                    attribute(ObjectIdentifier("1.3.6.1.4.1.311.60.2.1.3"), "US"),
                    attribute(NameOID.BUSINESS_CATEGORY, "Private Organization"),
                ]
            ),
            "OID.2.5.4.15=Private Organization, OID.1.3.6.1.4.1.311.60.2.1.3=US",
        ),
    ],
)
def test_distinguished_names_render_like_dotnet(name: x509.Name, rendered: str) -> None:
    assert dotnet_name(name) == rendered


def test_self_signed_signer_gets_the_certificate_hash_subject() -> None:
    der = self_signed()
    subject = plugin_subject(der, tenant_id=TENANT, environment_id=ENVIRONMENT)
    assert subject == (
        "/eid1/c/pub/t/ABksf9SfiUuR03mmSZlvCg/a/qzXoWDkuqUa3l6zM5mM0Rw/n/plugin/"
        f"e/{ENVIRONMENT}/h/{hashlib.sha256(der).hexdigest()}"
    )


def test_ca_issued_signer_gets_issuer_and_subject_hashes() -> None:
    issuer = x509.Name([attribute(NameOID.COUNTRY_NAME, "US"), attribute(NameOID.COMMON_NAME, "Contoso CA")])
    subject = x509.Name(
        [attribute(NameOID.ORGANIZATION_NAME, "Contoso"), attribute(NameOID.COMMON_NAME, "Contoso Signing")]
    )

    def hashed(text: str) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip("=")

    computed = plugin_subject(issued(subject, issuer), tenant_id=TENANT, environment_id=ENVIRONMENT)
    assert computed.endswith(
        f"/e/{ENVIRONMENT}/i/{hashed('CN=Contoso CA, C=US')}/s/{hashed('CN=Contoso Signing, O=Contoso')}"
    )
    assert len(computed.rsplit("/", 1)[1]) == 43
