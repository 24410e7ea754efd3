"""Signing certificates and the signer facts a FIC needs, read from DER, PEM, base64 or a bundle."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.fic._certificate_files import CertificateError, signing_certificate_der
from shared.fic._names import render_name

_SHA256_HEX = re.compile(r"[0-9a-f]{64}", re.ASCII)
_SHA1_HEX = re.compile(r"[0-9A-F]{40}", re.ASCII)
# Signing keys ppmi accepts. RSA below 2048 bits: NuGet refuses such signatures (Learn, NuGet warning
# NU3014: "an RSA public key of length >= 2048 bits"), and plug-in packages are NuGet packages. Elliptic
# curves below 256 bits (P-192, P-224): ppmi's own floor; signing certificates use P-256 and above. DSA,
# Ed25519 and others are not RSA or ECDSA, the key types Authenticode and NuGet signing use: refused.
MIN_RSA_BITS = 2048
MIN_CURVE_BITS = 256


@dataclass(frozen=True)
class SigningCertificate:
    """A parsed plug-in signing certificate with the values FIC subjects are built from."""

    der: bytes
    sha256_hex: str
    sha1_thumbprint: str
    is_self_signed: bool
    issuer_name: str
    subject_name: str
    not_valid_after: datetime
    certificates_in_file: int = 1  # more than one: a bundle, from which the signer (no CA) was taken


def load_certificate(data: bytes | str) -> SigningCertificate:
    """Read the signing certificate from DER bytes, PEM (bytes or text), base64 DER text or a bundle."""
    der, count = signing_certificate_der(data)
    certificate = x509.load_der_x509_certificate(der)
    _check_signing_key(certificate)
    return SigningCertificate(
        der=der,
        sha256_hex=hashlib.sha256(der).hexdigest(),
        sha1_thumbprint=hashlib.sha1(der, usedforsecurity=False).hexdigest().upper(),
        is_self_signed=_is_self_signed(certificate),
        issuer_name=render_name(certificate.issuer),
        subject_name=render_name(certificate.subject),
        not_valid_after=certificate.not_valid_after_utc,
        certificates_in_file=count,
    )


def _check_signing_key(certificate: x509.Certificate) -> None:
    """Refuse keys no plug-in should be trusted for: unreadable, weak, or not RSA / ECDSA (see above)."""
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        algorithm = certificate.public_key_algorithm_oid.dotted_string
        raise CertificateError(
            f"its public key (algorithm {algorithm}) cannot be read: the algorithm or its curve is not "
            "supported; sign with RSA or with ECDSA on P-256, P-384 or P-521"
        ) from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise CertificateError(
                f"its RSA key has {key.key_size} bits; signing keys need at least {MIN_RSA_BITS} "
                "(NuGet NU3014): issue a new certificate with a stronger key"
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.key_size < MIN_CURVE_BITS:
            raise CertificateError(
                f"its elliptic curve {key.curve.name} has {key.curve.key_size} bits; signing keys need a "
                f"curve of at least {MIN_CURVE_BITS} bits (P-256, P-384, P-521)"
            )
    else:
        raise CertificateError(
            f"its key is {type(key).__name__.removesuffix('PublicKey')}; ppmi accepts RSA and ECDSA signing "
            "keys, the kinds .NET code signing uses"
        )


def _is_self_signed(certificate: x509.Certificate) -> bool:
    """Self-signed means issuer equals subject and the signature verifies with the certificate's own key."""
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError):
        return False
    except UnsupportedAlgorithm:
        raise CertificateError(
            "its signature algorithm is not one ppmi can verify, so whether it is self-signed cannot be told"
        ) from None
    return True


@dataclass(frozen=True)
class Signer:
    """What a FIC needs to know about a plug-in signer; built from a certificate or from given thumbprints."""

    self_signed: bool
    sha256_hex: str | None = None
    sha1_thumbprint: str | None = None
    issuer_name: str | None = None
    subject_name: str | None = None

    def __post_init__(self) -> None:
        if self.sha256_hex is not None and not _SHA256_HEX.fullmatch(self.sha256_hex):
            raise ValueError("sha256_hex must be 64 lowercase hex characters")
        if self.sha1_thumbprint is not None and not _SHA1_HEX.fullmatch(self.sha1_thumbprint):
            raise ValueError("sha1_thumbprint must be 40 upper-case hex characters")
        if self.self_signed and self.sha256_hex is None and self.sha1_thumbprint is None:
            raise ValueError("a self-signed signer needs its SHA-256 or SHA-1 thumbprint")
        if not self.self_signed and (not self.issuer_name or not self.subject_name):
            raise ValueError("a CA-issued signer needs both its issuer and subject names")

    @classmethod
    def from_certificate(
        cls, certificate: SigningCertificate, issuer_name: str | None = None, subject_name: str | None = None
    ) -> Signer:
        """Names given by the caller (as .NET printed them) win over the ones rendered here."""
        return cls(
            self_signed=certificate.is_self_signed,
            sha256_hex=certificate.sha256_hex,
            sha1_thumbprint=certificate.sha1_thumbprint,
            issuer_name=issuer_name or certificate.issuer_name,
            subject_name=subject_name or certificate.subject_name,
        )

    @property
    def key(self) -> str:
        """16 hex characters naming what the FIC trusts: the certificate, or the CA-issued names."""
        if self.self_signed:
            basis = self.sha256_hex or self.sha1_thumbprint or ""
            return hashlib.sha256(f"h/{basis.lower()}".encode()).hexdigest()[:16]
        names = f"i/{self.issuer_name}\ns/{self.subject_name}"
        return hashlib.sha256(names.encode("utf-8")).hexdigest()[:16]

    def matches(self, other: Signer) -> bool:
        """Whether one FIC trusts both: the same certificate, or the same CA-issued names."""
        if self.self_signed != other.self_signed:
            return False
        if self.self_signed:
            return _same_known(self.sha256_hex, other.sha256_hex) or _same_known(
                self.sha1_thumbprint, other.sha1_thumbprint
            )
        return self.issuer_name == other.issuer_name and self.subject_name == other.subject_name


def _same_known(left: str | None, right: str | None) -> bool:
    return left is not None and left == right
