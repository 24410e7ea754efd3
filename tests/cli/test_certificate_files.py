"""Certificate files as people export them: the signer is taken from a bundle only when it is unambiguous,
and every file that is not a usable certificate is named for what it is, with what to export instead."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from shared.cli import main
from shared.cli._exit import ExitCode
from tests.domain.certificates import IssuedPair, ca_issued_der, self_signed_der

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"


def pem(*ders: bytes) -> bytes:
    return b"".join(
        x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM) for der in ders
    )


def show(capsys: pytest.CaptureFixture[str], path: Path) -> tuple[int, str, str]:
    argv = ["fic", "show", "--tenant-id", TENANT, "--environment-id", ENVIRONMENT, "--certificate", str(path)]
    code = main([*argv, "--output", "json"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def subject_of(out: str) -> str:
    return str(json.loads(out)["subject"])


def test_a_bundle_with_the_ca_first_yields_the_signer_not_the_ca(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pair: IssuedPair = ca_issued_der()
    alone, bundle = tmp_path / "leaf.pem", tmp_path / "chain.pem"
    alone.write_bytes(pem(pair.leaf_der))
    bundle.write_bytes(pem(pair.ca_der, pair.leaf_der))

    expected = subject_of(show(capsys, alone)[1])
    code, out, err = show(capsys, bundle)

    assert code == ExitCode.OK
    assert subject_of(out) == expected
    assert "holds 2 certificates; using the one that is no certificate authority: CN=Contoso Signing" in err


def test_a_bundle_without_exactly_one_signer_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "two-signers.pem"
    bundle.write_bytes(pem(self_signed_der(), ca_issued_der().leaf_der))

    code, out, err = show(capsys, bundle)

    assert code == ExitCode.USAGE
    assert "holds 2 certificates and 2 of them are a signer" in err
    assert "export the signing certificate alone" in err
    assert json.loads(out)["error"]["kind"] == "certificate"


def test_a_p7b_export_yields_its_signer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pair = ca_issued_der()
    p7b = tmp_path / "chain.p7b"
    certificates = [x509.load_der_x509_certificate(der) for der in (pair.ca_der, pair.leaf_der)]
    p7b.write_bytes(pkcs7.serialize_certificates(certificates, serialization.Encoding.DER))
    alone = tmp_path / "leaf.cer"
    alone.write_bytes(pair.leaf_der)

    assert subject_of(show(capsys, p7b)[1]) == subject_of(show(capsys, alone)[1])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pfx() -> bytes:
    """What Windows exports with 'Yes, export the private key': the certificate and its key, encrypted."""
    key = _key()
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Contoso Signing")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime(2026, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2027, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(b"secret")
    return pkcs12.serialize_key_and_certificates(b"signing", key, certificate, None, encryption)


@pytest.mark.parametrize(
    ("content", "says", "advice"),
    [
        (
            _pfx,
            "is a PKCS#12 (.pfx/.p12) archive, which holds the private key",
            "openssl pkcs12 -in FILE -clcerts -nokeys",
        ),
        (
            lambda: _key().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "the PEM file holds a private key; ppmi needs only the certificate",
            "export the signing certificate alone, without its private key",
        ),
        (
            lambda: _key().private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            "the DER file is a private key, not a certificate",
            "without its private key",
        ),
        (
            lambda: b"\x30\x0b\x06\x03\x55\x04\x03\x0c\x04junk",
            "the bytes are DER but not a DER X.509 certificate",
            "export the signing certificate alone",
        ),
        (
            lambda: (
                x509.CertificateSigningRequestBuilder()
                .subject_name(x509.Name([]))
                .sign(_key(), hashes.SHA256())
                .public_bytes(serialization.Encoding.PEM)
            ),
            "is a certificate signing request, not a certificate",
            "the certificate your CA issued",
        ),
        (
            lambda: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".encode("utf-16"),
            "they are UTF-16 text",
            "save the file as ASCII or UTF-8",
        ),
    ],
    ids=["pfx", "pem-private-key", "der-private-key", "garbage-der", "csr", "utf-16"],
)
def test_what_is_not_a_certificate_is_named_with_what_to_export_instead(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: object, says: str, advice: str
) -> None:
    path = tmp_path / "given"
    path.write_bytes(content())  # type: ignore[operator]

    code, out, err = show(capsys, path)

    assert code == ExitCode.USAGE
    message, hint = err.splitlines()
    assert says in message
    assert advice in hint
    assert "Traceback" not in err
    assert json.loads(out)["error"]["hint"] == hint


def test_a_utf8_byte_order_mark_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    der = self_signed_der()
    marked = tmp_path / "notepad.pem"
    marked.write_bytes(b"\xef\xbb\xbf" + pem(der))

    code, out, _ = show(capsys, marked)

    assert code == ExitCode.OK
    assert subject_of(out).endswith("/h/" + hashlib.sha256(der).hexdigest())
