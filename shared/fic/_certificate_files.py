"""From the bytes of a certificate file to the DER of the one signing certificate in it.

Accepted: DER, PEM, base64 DER, a PEM bundle or PKCS#7 (.p7b) file whose certificates include exactly one
that is no certificate authority (the signer), and text starting with a UTF-8 byte order mark. Refused,
each with what the file is and what to export instead: a PKCS#12 (.pfx/.p12) file and anything holding a
private key (ppmi never needs one, and a pipeline should never carry one), a certificate signing request,
a bundle whose signer cannot be told apart, and DER that is no certificate.
"""

from __future__ import annotations

import base64
import binascii
import re

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_der_private_key, pkcs7

EXPORT_ALONE = (
    "export the signing certificate alone, without its private key: in Windows certmgr → the certificate → "
    "All Tasks → Export → 'No, do not export the private key' → DER (.cer) or Base-64 (.cer); with OpenSSL "
    "`openssl x509 -in FILE -out signing.cer -outform DER`"
)
FROM_PFX = (
    "export the certificate without its key: `openssl pkcs12 -in FILE -clcerts -nokeys -out signing.pem`, or "
    "in PowerShell `(Get-PfxCertificate FILE).Export('Cert') | Set-Content signing.cer -AsByteStream`"
)
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_PRIVATE_KEY_LABELS = (
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
)
_CERTIFICATE_LABELS = ("CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE")
_REQUEST_LABELS = ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")
# DER prefixes (after the outer SEQUENCE header) of the containers people export by mistake.
_PFX_VERSION = b"\x02\x01\x03"  # PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, ... }
_PKCS7_SIGNED_DATA = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"  # OID 1.2.840.113549.1.7.2


class CertificateError(ValueError):
    """The bytes given are not a certificate ppmi can use; `advice` says what to give instead."""

    def __init__(self, message: str, advice: str = EXPORT_ALONE) -> None:
        super().__init__(message)
        self.advice = advice


def signing_certificate_der(data: bytes | str) -> tuple[bytes, int]:
    """The DER of the signing certificate in `data`, and how many certificates the file held."""
    if isinstance(data, bytes):
        data = data.removeprefix(UTF8_BOM)
        if data.startswith(b"\x30"):
            return _from_der(data)
        if data.startswith(UTF16_BOMS):
            raise CertificateError(
                "the bytes are neither DER, PEM nor base64 text: they are UTF-16 text, as Windows "
                "PowerShell's Out-File and `>` write it",
                "save the file as ASCII or UTF-8 (`Set-Content -Encoding ascii`), or export the certificate "
                "as DER",
            )
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            raise CertificateError("the bytes are neither DER, PEM nor base64 text") from None
    text = data.removeprefix("\ufeff").strip()
    if not text:
        raise CertificateError("the certificate is empty")
    if "-----BEGIN" in text:
        return _from_pem(text)
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise CertificateError("the text is not valid base64 (standard alphabet, with padding)") from None
    return _from_der(der)


def _from_pem(text: str) -> tuple[bytes, int]:
    blocks = [
        (label, f"-----BEGIN {label}-----{body}-----END {label}-----")
        for label, body in _PEM_BLOCK.findall(text)
    ]
    labels = [label for label, _ in blocks]
    certificates = [block for label, block in blocks if label in _CERTIFICATE_LABELS]
    if any(label in _PRIVATE_KEY_LABELS for label in labels):
        held = f" next to {len(certificates)} certificate(s)" if certificates else ""
        raise CertificateError(f"the PEM file holds a private key{held}; ppmi needs only the certificate")
    if any(label in _REQUEST_LABELS for label in labels):
        raise CertificateError(
            "the PEM file is a certificate signing request, not a certificate",
            "give the certificate your CA issued for that request (DER or PEM)",
        )
    if "PKCS7" in labels:
        try:
            found = pkcs7.load_pem_pkcs7_certificates(text.encode("ascii"))
        except ValueError as error:
            raise CertificateError(f"the PEM PKCS#7 block is not readable ({error})") from None
        return _signer_of(found, "PKCS#7 file")
    if not certificates:
        shown = ", ".join(dict.fromkeys(labels)) or "no complete block"
        raise CertificateError(f"the PEM block is not a readable certificate (it holds {shown})")
    try:
        found = [x509.load_pem_x509_certificate(block.encode("ascii")) for block in certificates]
    except (ValueError, UnicodeEncodeError) as error:
        raise CertificateError(f"the PEM block is not a readable certificate ({error})") from None
    return _signer_of(found, "PEM file")


def _from_der(der: bytes) -> tuple[bytes, int]:
    try:
        x509.load_der_x509_certificate(der)
    except ValueError as error:
        reason = str(error)
    else:
        return der, 1  # the bytes as given: the FIC subject hashes exactly these
    body = _sequence_body(der)
    if body.startswith(_PFX_VERSION):
        raise CertificateError(
            "the file is a PKCS#12 (.pfx/.p12) archive, which holds the private key; ppmi needs only the "
            "certificate",
            FROM_PFX,
        )
    if body.startswith(_PKCS7_SIGNED_DATA):
        try:
            return _signer_of(pkcs7.load_der_pkcs7_certificates(der), "PKCS#7 (.p7b) file")
        except ValueError as error:
            raise CertificateError(f"the PKCS#7 (.p7b) file is not readable ({error})") from None
    if _is_private_key(der):
        raise CertificateError(
            "the DER file is a private key, not a certificate; ppmi needs only the certificate"
        )
    if _is_request(der):
        raise CertificateError(
            "the DER file is a certificate signing request, not a certificate",
            "give the certificate your CA issued for that request (DER or PEM)",
        )
    raise CertificateError(f"the bytes are DER but not a DER X.509 certificate ({reason})")


def _signer_of(certificates: list[x509.Certificate], what: str) -> tuple[bytes, int]:
    """The one certificate that is no CA; a bundle where that is not exactly one is refused, never guessed."""
    unique = list({c.public_bytes(Encoding.DER): c for c in certificates}.values())
    if len(unique) == 1:
        return unique[0].public_bytes(Encoding.DER), len(certificates)
    # A certificate that issued another one in the file is an authority, whatever its extensions say.
    issuers = {c.issuer for c in unique if c.issuer != c.subject}
    leaves = [c for c in unique if not _is_authority(c) and c.subject not in issuers]
    if len(leaves) == 1:
        return leaves[0].public_bytes(Encoding.DER), len(certificates)
    subjects = "; ".join(c.subject.rfc4514_string() or "(empty subject)" for c in unique)
    which = "none of them is" if not leaves else f"{len(leaves)} of them are"
    raise CertificateError(
        f"the {what} holds {len(unique)} certificates and {which} a signer rather than a certificate "
        f"authority, so ppmi cannot tell which signs the plug-ins: {subjects}",
    )


def _is_authority(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return constraints.ca


def _sequence_body(der: bytes) -> bytes:
    """The content of a DER SEQUENCE (header skipped), or b"" when `der` does not start with one."""
    if len(der) < 2 or der[0] != 0x30:
        return b""
    first = der[1]
    if first < 0x80:
        return der[2:]
    size = first & 0x7F
    return der[2 + size :] if 0 < size <= 4 else b""


def _is_private_key(der: bytes) -> bool:
    try:
        load_der_private_key(der, password=None)
    except TypeError:  # an encrypted key asks for its password: still a key
        return True
    except (ValueError, NotImplementedError):
        return False
    return True


def _is_request(der: bytes) -> bool:
    try:
        x509.load_der_x509_csr(der)
    except ValueError:
        return False
    return True
