"""Why two FIC subjects differ, segment by segment, in words a person can act on.

Entra compares the subject byte for byte and silently accepts a wrong one, so the usual mistakes are worth
naming: the tenant GUID in RFC 4122 byte order instead of .NET's, the customer's app in the `a/` segment, the
organization ID in `e/`, `h/` for a CA-issued certificate, a hash in the wrong encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from uuid import UUID

from shared.fic import PPMI_APP_ID, Signer, common_name, encode_guid

_SEGMENT_LABELS = {
    "c": "cloud prefix",
    "t": "tenant encoding",
    "a": "PPMI app",
    "n": "component kind",
    "e": "environment",
    "h": "hash",
    "i": "hash",
    "s": "hash",
}


@dataclass(frozen=True)
class SubjectFacts:
    """What the expected subject was built from, so a wrong segment can be recognised for what it holds."""

    tenant_id: str
    environment_id: str
    signer: Signer | None = None
    organization_id: str | None = None
    identity_client_id: str | None = None


@dataclass(frozen=True)
class SegmentDifference:
    segment: str  # "t", "a", "e", "h vs i/s", "h", "i", "s", "format", ...
    label: str  # "tenant encoding", "PPMI app", "environment", "h/ vs i/s", "hash", ...
    explanation: str


def parse_subject(subject: str) -> dict[str, str] | None:
    """The `/eid1/c/.../t/.../a/...` subject as {segment: value}; None for anything else (e.g. format 0)."""
    parts = subject.split("/")
    if len(parts) < 4 or parts[0] != "" or parts[1] != "eid1" or len(parts[2:]) % 2:
        return None
    pairs = parts[2:]
    return dict(zip(pairs[0::2], pairs[1::2], strict=True))


def subject_differences(expected: str, actual: str, facts: SubjectFacts) -> tuple[SegmentDifference, ...]:
    """Every segment in which `actual` departs from `expected`, each with what it seems to hold instead."""
    if expected == actual:
        return ()
    wanted, found = parse_subject(expected), parse_subject(actual)
    if wanted is None or found is None:
        return (_format_difference(wanted is None, found is None),)
    differences = [
        _segment_difference(key, wanted[key], found.get(key), facts)
        for key in ("c", "t", "a", "n", "e")
        if wanted.get(key) != found.get(key)
    ]
    differences.extend(_signer_differences(wanted, found, facts))
    if not differences:
        differences.append(
            SegmentDifference("layout", "segment order", "the same segments in another order or with extras")
        )
    return tuple(differences)


def _format_difference(expected_legacy: bool, actual_legacy: bool) -> SegmentDifference:
    if expected_legacy and actual_legacy:
        return SegmentDifference(
            "legacy",
            "legacy subject",
            "the legacy (format 0) subjects differ in component, thumbprint or env",
        )
    if actual_legacy:
        return SegmentDifference(
            "format",
            "format",
            "the FIC holds a legacy (format 0) subject, but the row's version makes Dataverse present a "
            "/eid1/... subject",
        )
    return SegmentDifference(
        "format",
        "format",
        "the FIC holds a /eid1/... subject, but the row's version (0) makes Dataverse present the legacy "
        "component:...,thumbprint:...,environment:... subject",
    )


def _segment_difference(key: str, wanted: str, found: str | None, facts: SubjectFacts) -> SegmentDifference:
    label = _SEGMENT_LABELS[key]
    if found is None:
        return SegmentDifference(key, label, f"the {key}/ segment is missing; expected {key}/{wanted}")
    if key == "t":
        known = {facts.tenant_id: "the tenant"}
        return SegmentDifference(key, label, "t/: " + _guid_segment(found, facts.tenant_id, "tenant", known))
    if key == "a":
        known = {PPMI_APP_ID: "the PPMI app", facts.tenant_id: "the tenant ID"}
        if facts.identity_client_id:
            known[facts.identity_client_id] = "the identity's own client ID"
        detail = _guid_segment(found, PPMI_APP_ID, "Power Platform managed identity app", known)
        return SegmentDifference(
            key, label, f"a/: {detail}; a/ is always the first-party app {PPMI_APP_ID}, never yours"
        )
    if key == "e":
        return SegmentDifference(key, label, "e/: " + _environment_segment(wanted, found, facts))
    if key == "n":
        return SegmentDifference(
            key, label, f"n/{found}: plug-in assemblies and packages both use n/{wanted}"
        )
    return SegmentDifference(key, label, f"c/{found}: this policy's cloud uses c/{wanted}")


def _decode_guid_bytes(segment: str) -> bytes | None:
    if len(segment) != 22:
        return None
    try:
        raw = base64.urlsafe_b64decode(segment + "==")
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 16 else None


def _guid_segment(found: str, guid: str, role: str, known: dict[str, str]) -> str:
    """Name what a GUID segment holds: the right GUID in the wrong byte order, another known GUID, or junk."""
    expected = encode_guid(guid)
    try:
        if UUID(found) == UUID(guid):
            return f"{found} is the {role} GUID as text; it must be {expected} (Base64URL of .NET byte order)"
    except ValueError:
        pass
    raw = _decode_guid_bytes(found)
    if raw is None:
        return f"{found!r} is not a Base64URL GUID; expected {expected}"
    if UUID(bytes=raw) == UUID(guid):
        return (
            f"{found} is the {role} GUID in RFC 4122 byte order (Python's .bytes); Power Platform uses .NET "
            f"Guid.ToByteArray() order: {expected}"
        )
    held = str(UUID(bytes_le=raw))
    for known_guid, description in known.items():
        if UUID(known_guid) == UUID(held):
            return f"{found} encodes {description} ({held}); expected {expected}"
        if UUID(bytes=raw) == UUID(known_guid):
            return f"{found} encodes {description} ({known_guid}) in RFC 4122 byte order; expected {expected}"
    return f"{found} encodes {held}, not the {role} {guid}; expected {expected}"


def _environment_segment(wanted: str, found: str, facts: SubjectFacts) -> str:
    if found.lower() == wanted.lower():
        return f"{found} differs only in letter case; Power Platform writes {wanted}"
    if facts.organization_id and found.lower() == facts.organization_id.lower():
        return (
            f"{found} is the Dataverse organization ID; this environment's subjects use the environment ID "
            f"{wanted} (policy subjectEnvironmentSegment)"
        )
    if found.lower() == facts.environment_id.lower():
        return (
            f"{found} is the environment ID, but the organization ID {wanted} is expected in e/ (what "
            "Dataverse presents, or the policy's subjectEnvironmentSegment)"
        )
    if found.replace("-", "").lower() == wanted.replace("-", "").lower():
        return f"{found} lost its hyphens; expected {wanted}"
    return f"{found} is another environment; expected {wanted}"


def _signer_differences(
    wanted: dict[str, str], found: dict[str, str], facts: SubjectFacts
) -> list[SegmentDifference]:
    if "h" in wanted and "h" not in found:
        return [
            SegmentDifference(
                "h vs i/s",
                "h/ vs i/s",
                "found the CA-issued form i/.../s/..., but the signing certificate is self-signed: "
                "Dataverse presents h/<SHA-256 of the certificate>",
            )
        ]
    if "h" in found and "h" not in wanted:
        return [
            SegmentDifference(
                "h vs i/s",
                "h/ vs i/s",
                "found the self-signed form h/..., but the signing certificate is CA-issued: Dataverse "
                "presents i/<issuer name hash>/s/<subject name hash>",
            )
        ]
    if "h" in wanted:
        if wanted["h"] == found["h"]:
            return []
        return [SegmentDifference("h", "hash", "h/: " + _certificate_hash(wanted["h"], found["h"], facts))]
    differences = []
    signer = facts.signer
    for key, kind in (("i", "issuer"), ("s", "subject")):
        if wanted.get(key) == found.get(key):
            continue
        rendered = None
        if signer is not None:
            rendered = signer.issuer_name if key == "i" else signer.subject_name
        differences.append(
            SegmentDifference(
                key, "hash", f"{key}/: " + _name_hash(wanted[key], found.get(key) or "", kind, rendered)
            )
        )
    return differences


def _certificate_hash(wanted: str, found: str, facts: SubjectFacts) -> str:
    if found.lower() == wanted:
        return f"{found} is upper-case hex; Power Platform writes the SHA-256 in lowercase hex: {wanted}"
    as_base64url = base64.urlsafe_b64encode(bytes.fromhex(wanted)).rstrip(b"=").decode("ascii")
    if found == as_base64url:
        return f"{found} is the SHA-256 in Base64URL; Power Platform writes it in lowercase hex: {wanted}"
    signer = facts.signer
    if signer is not None and signer.sha1_thumbprint and found.upper() == signer.sha1_thumbprint:
        return f"{found} is the SHA-1 thumbprint; use the SHA-256 of the certificate's DER bytes: {wanted}"
    return f"{found} is the hash of another certificate; the signing certificate's SHA-256 is {wanted}"


def _name_hash(wanted: str, found: str, kind: str, rendered: str | None) -> str:
    if rendered is None:
        return f"{found} is not the expected {kind} name value {wanted}"
    hashed = base64.urlsafe_b64encode(hashlib.sha256(rendered.encode()).digest()).rstrip(b"=").decode()
    if wanted == hashed and found == common_name(rendered):
        return f"{found!r} is the {kind} CN (format 1); format 2 hashes the whole rendered name {rendered!r}"
    if wanted != hashed and found == hashed:
        return (
            f"{found} is the format 2 hash of the {kind} name; a version 1 row makes Dataverse present the "
            f"CN {wanted!r}"
        )
    if wanted != hashed:
        return f"{found!r} is not the {kind} CN {wanted!r} that a version 1 row makes Dataverse present"
    return (
        f"{found} is not the hash of the {kind} name as .NET renders it ({rendered!r} → {hashed}); "
        "another CA, another name, or a different rendering (RDN order, quoting, separators)"
    )
