"""Distinguished names rendered as .NET `X509Certificate2.Subject` renders them."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID, ObjectIdentifier

from shared.fic import common_name, load_certificate, render_name
from tests.domain.certificates import ca_issued_der


def attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value, _validate=False)


def rendered(*rdns: list[x509.NameAttribute[str]]) -> str:
    return render_name(x509.Name([x509.RelativeDistinguishedName(rdn) for rdn in rdns]))


def test_rdns_are_printed_most_specific_first() -> None:
    name = rendered(
        [attribute(NameOID.DOMAIN_COMPONENT, "com")],
        [attribute(NameOID.DOMAIN_COMPONENT, "contoso")],
        [attribute(NameOID.COUNTRY_NAME, "US")],
        [attribute(NameOID.STATE_OR_PROVINCE_NAME, "Washington")],
        [attribute(NameOID.LOCALITY_NAME, "Redmond")],
        [attribute(NameOID.ORGANIZATION_NAME, "Contoso")],
        [attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Plug-ins")],
        [attribute(NameOID.COMMON_NAME, "Contoso Signing")],
    )

    assert (
        name
        == "CN=Contoso Signing, OU=Plug-ins, O=Contoso, L=Redmond, S=Washington, C=US, DC=contoso, DC=com"
    )


def test_multi_valued_rdn_joins_its_attributes_with_plus_in_their_encoded_order() -> None:
    subject = x509.Name(
        [
            x509.RelativeDistinguishedName([attribute(NameOID.ORGANIZATION_NAME, "Contoso")]),
            x509.RelativeDistinguishedName(
                [
                    attribute(NameOID.COMMON_NAME, "Signing"),
                    attribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Dev"),
                ]
            ),
        ]
    )

    certificate = load_certificate(ca_issued_der(subject=subject).leaf_der)

    # DER sorts the members of a SET OF by their encoding; the shorter OU element comes first.
    assert certificate.subject_name == "OU=Dev + CN=Signing, O=Contoso"


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        ("Contoso, Inc.", 'O="Contoso, Inc."'),
        ('The "Best" Co', 'O="The ""Best"" Co"'),
        ("A+B", 'O="A+B"'),
        ("x=y", 'O="x=y"'),
        ("#hash", 'O="#hash"'),
        ("semi;colon", 'O="semi;colon"'),
        ("<angle>", 'O="<angle>"'),
        ("line\nbreak", 'O="line\nbreak"'),
        (" leading", 'O=" leading"'),
        ("trailing ", 'O="trailing "'),
        ("\ttab", 'O="\ttab"'),
        ("", 'O=""'),
        ("back\\slash", "O=back\\slash"),
        ("inner space", "O=inner space"),
        ("Müller GmbH", "O=Müller GmbH"),
    ],
)
def test_values_are_quoted_only_where_dotnet_quotes_them(value: str, printed: str) -> None:
    assert rendered([attribute(NameOID.ORGANIZATION_NAME, value)]) == printed


def test_email_and_serial_number_use_their_windows_names() -> None:
    name = rendered(
        [attribute(NameOID.SERIAL_NUMBER, "1234567")],
        [attribute(NameOID.EMAIL_ADDRESS, "signing@contoso.com")],
        [attribute(NameOID.STREET_ADDRESS, "1 Main St")],
        [attribute(NameOID.POSTAL_CODE, "98052")],
    )

    assert name == "PostalCode=98052, STREET=1 Main St, E=signing@contoso.com, SERIALNUMBER=1234567"


def test_ev_code_signing_subject_writes_unnamed_oids_in_dotted_form() -> None:
    name = rendered(
        [attribute(NameOID.JURISDICTION_COUNTRY_NAME, "US")],
        [attribute(NameOID.JURISDICTION_STATE_OR_PROVINCE_NAME, "Delaware")],
        [attribute(NameOID.BUSINESS_CATEGORY, "Private Organization")],
        [attribute(NameOID.SERIAL_NUMBER, "5551234")],
        [attribute(NameOID.COUNTRY_NAME, "US")],
        [attribute(NameOID.ORGANIZATION_NAME, "Contoso Ltd")],
        [attribute(NameOID.COMMON_NAME, "Contoso Ltd")],
    )

    assert name == (
        "CN=Contoso Ltd, O=Contoso Ltd, C=US, SERIALNUMBER=5551234, OID.2.5.4.15=Private Organization, "
        "OID.1.3.6.1.4.1.311.60.2.1.2=Delaware, OID.1.3.6.1.4.1.311.60.2.1.3=US"
    )


def test_private_oid_is_written_in_dotted_form() -> None:
    assert rendered([attribute(ObjectIdentifier("1.2.3.4.5"), "x")]) == "OID.1.2.3.4.5=x"


def test_names_survive_a_round_trip_through_a_real_certificate() -> None:
    subject = x509.Name(
        [
            attribute(NameOID.COUNTRY_NAME, "US"),
            attribute(NameOID.ORGANIZATION_NAME, 'Contoso, "West"'),
            attribute(NameOID.COMMON_NAME, " Signing "),
        ]
    )

    certificate = load_certificate(ca_issued_der(subject=subject).leaf_der)

    assert certificate.subject_name == 'CN=" Signing ", O="Contoso, ""West""", C=US'
    assert certificate.issuer_name == "CN=Contoso Code Signing CA, O=Contoso, C=US"


@pytest.mark.parametrize(
    ("dn", "expected"),
    [
        ("CN=Contoso Signing, O=Contoso", "Contoso Signing"),
        ('CN="Contoso, ""West""", O=X', 'Contoso, "West"'),
        ("OU=Dev + CN=Signing, O=Contoso", "Signing"),
        ("O=Contoso", None),
    ],
)
def test_common_name_is_read_back_from_a_rendered_dn(dn: str, expected: str | None) -> None:
    assert common_name(dn) == expected
