"""Signing certificates for plug-in tests: self-signed, and issued by a CA with a chosen subject."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.domain.certificates import VALID_FROM, VALID_UNTIL


def _certificate(subject: x509.Name, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .sign(issuer_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def self_signed(common_name: str = "Contoso Plug-ins") -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    key = ec.generate_private_key(ec.SECP256R1())
    return _certificate(name, name, key)


def issued(subject: x509.Name, issuer: x509.Name) -> bytes:
    return _certificate(subject, issuer, ec.generate_private_key(ec.SECP256R1()))
