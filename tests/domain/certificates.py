"""Certificates made in memory for tests: self-signed leaves, and a CA with a leaf it issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

# Valid around the day the tests run: a fixed window would expire under them (and signers that expire soon
# draw warnings). A month back, three years ahead.
VALID_FROM = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=30)
VALID_UNTIL = VALID_FROM + timedelta(days=3 * 365)


def simple_name(common_name: str, organization: str = "Contoso", country: str = "US") -> x509.Name:
    """C, O, CN in DER order; .NET prints it as `CN=..., O=..., C=...`."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _build(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
) -> bytes:
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .sign(signing_key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.DER)


def self_signed_der(name: x509.Name | None = None) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name or simple_name("Contoso Plug-ins (self-signed)")
    return _build(subject, subject, key.public_key(), key)


@dataclass(frozen=True)
class IssuedPair:
    ca_der: bytes
    leaf_der: bytes


def ca_issued_der(subject: x509.Name | None = None, issuer: x509.Name | None = None) -> IssuedPair:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    issuer_name = issuer or simple_name("Contoso Code Signing CA")
    subject_name = subject or simple_name("Contoso Signing")
    ca_der = _build(issuer_name, issuer_name, ca_key.public_key(), ca_key)
    leaf_der = _build(subject_name, issuer_name, leaf_key.public_key(), ca_key)
    return IssuedPair(ca_der=ca_der, leaf_der=leaf_der)


def name_claiming_self(name: x509.Name) -> bytes:
    """Issuer equals subject, but signed by some other key: not self-signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    return _build(name, name, key.public_key(), other)
