"""The FIC subject Dataverse computes server-side for a plug-in component (`GetComponentManagedIdentityFIC`).

Written independently of the product's implementation on purpose: the sandbox is a second opinion that
the product's subjects are cross-checked against.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

from cryptography import x509

POWER_PLATFORM_MI_APP = "58e835ab-2e39-46a9-b797-accce6633447"
CLOUD_PREFIX = "/eid1/c/pub"

# Windows CertNameToStr short names; other OIDs are written OID.<dotted>.
SHORT_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.17": "PostalCode",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.25": "DC",
}
NEEDS_QUOTES = frozenset(',+="\n<>#;')
EDGE_WHITESPACE = frozenset(" \t\r\n\v\f")


def guid_segment(value: str) -> str:
    """A GUID as .NET's `Guid.ToByteArray()` (mixed-endian) bytes, Base64URL without padding."""
    little_endian = uuid.UUID(value).bytes_le
    return base64.urlsafe_b64encode(little_endian).decode("ascii").rstrip("=")


def _quoted(value: str) -> str:
    if not value or value[0] in EDGE_WHITESPACE or value[-1] in EDGE_WHITESPACE or NEEDS_QUOTES & set(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def dotnet_name(name: x509.Name) -> str:
    """A distinguished name as .NET `X509Certificate2.Subject` renders it: most specific RDN first."""
    rendered = []
    for rdn in reversed(list(name.rdns)):
        parts = []
        for attribute in rdn:
            dotted = attribute.oid.dotted_string
            label = SHORT_NAMES.get(dotted, f"OID.{dotted}")
            value = attribute.value if isinstance(attribute.value, str) else attribute.value.decode("utf-8")
            parts.append(f"{label}={_quoted(value)}")
        rendered.append(" + ".join(parts))
    return ", ".join(rendered)


def _sha256_b64url(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def plugin_subject(certificate_der: bytes, *, tenant_id: str, environment_id: str) -> str:
    """The v2 subject: `h/<sha256 hex of DER>` for self-signed signers, `i/<hash>/s/<hash>` for CA-issued."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    prefix = (
        f"{CLOUD_PREFIX}/t/{guid_segment(tenant_id)}/a/{guid_segment(POWER_PLATFORM_MI_APP)}"
        f"/n/plugin/e/{environment_id}"
    )
    if certificate.issuer.public_bytes() == certificate.subject.public_bytes():
        return f"{prefix}/h/{hashlib.sha256(certificate_der).hexdigest()}"
    issuer_hash = _sha256_b64url(dotnet_name(certificate.issuer))
    subject_hash = _sha256_b64url(dotnet_name(certificate.subject))
    return f"{prefix}/i/{issuer_hash}/s/{subject_hash}"
