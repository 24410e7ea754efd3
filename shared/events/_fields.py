"""Field types shared by the event models, each with a check whose message tells the sender what to fix."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from shared.events._quoting import shown
from shared.fic import CertificateError, load_certificate
from shared.key_material import key_material_kind

MAX_EVENT_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
MAX_SOURCE_LENGTH = 1024
MAX_SUBJECT_LENGTH = 1024
MAX_NAME_LENGTH = 1024
MAX_DER_BASE64_LENGTH = 16 * 1024
MAX_REPLY_SESSION_LENGTH = 128  # a Service Bus SessionId holds at most 128 characters
MAX_TEXT_LENGTH = 4096

_GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_LOWER_GUID = re.compile(_GUID, re.ASCII)
_ANY_CASE_GUID = re.compile(_GUID, re.ASCII | re.IGNORECASE)
_ENVIRONMENT_ID = re.compile(rf"(?:Default-)?{_GUID}", re.ASCII)
_CASE_FOLDED_ENVIRONMENT_ID = re.compile(rf"(?:default-)?{_GUID}", re.ASCII | re.IGNORECASE)
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+", re.ASCII)
_NO_CONTROL = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]*")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}", re.ASCII)
_SHA1 = re.compile(r"[0-9a-fA-F]{40}", re.ASCII)
_NAME_START = re.compile(r"(?:[A-Za-z][A-Za-z0-9]*|OID\.[0-9]+(?:\.[0-9]+)+)=", re.ASCII)
_CONNECTOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*", re.ASCII)
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", re.ASCII)


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("invalid_value", message)


def check_environment_id(value: str) -> str:
    """A lowercase GUID or `Default-{lowercase GUID}`, exactly: it is copied into a case-sensitive subject."""
    if _ENVIRONMENT_ID.fullmatch(value):
        if value.removeprefix("Default-") == _NIL_GUID:
            raise _fail("must not be the all-zero GUID")
        return value
    if not value.isascii():
        position, character = next((n, c) for n, c in enumerate(value, start=1) if not c.isascii())
        raise _fail(
            f"must be plain ASCII (a GUID); character {position} is U+{ord(character):04X} "
            f"{unicodedata.name(character, 'without a name')}"
        )
    if value != value.strip() or any(character.isspace() for character in value):
        raise _fail(f"must not contain whitespace; got {shown(value)}")
    if _CASE_FOLDED_ENVIRONMENT_ID.fullmatch(value):
        raise _fail(
            f"must be written as Power Platform writes it: lowercase GUID, prefix 'Default-' "
            f"for the default environment; got {shown(value)}"
        )
    raise _fail(
        "must be an environment ID: a GUID such as 'f9a9f8a2-9d1c-4e55-9b0e-3c1a4c1d2e3f' or "
        f"'Default-<tenant GUID>'; got {shown(value)}"
    )


def check_guid(value: str) -> str:
    """Any case is accepted (Dataverse does not care); the value is kept lowercase."""
    if not _ANY_CASE_GUID.fullmatch(value):
        raise _fail(f"must be a GUID such as 'a1b2c3d4-0000-4000-8000-000000000001'; got {shown(value)}")
    if value == _NIL_GUID:
        raise _fail("must not be the all-zero GUID")
    return value.lower()


def check_visible_ascii(value: str) -> str:
    if not _VISIBLE_ASCII.fullmatch(value):
        raise _fail("must be visible ASCII without spaces")
    return value


def check_no_control_characters(value: str) -> str:
    if not _NO_CONTROL.fullmatch(value):
        raise _fail("must not contain control characters or unpaired surrogates")
    return value


def check_sha256(value: str) -> str:
    if not _SHA256.fullmatch(value):
        raise _fail("must be the SHA-256 of the certificate's DER as 64 hex characters")
    return value.lower()


def check_sha1(value: str) -> str:
    if not _SHA1.fullmatch(value):
        raise _fail("must be the SHA-1 thumbprint as 40 hex characters")
    return value.upper()


def check_dotnet_name(value: str) -> str:
    if not _NAME_START.match(value):
        raise _fail(
            "must be a distinguished name exactly as .NET X509Certificate2 prints it, "
            "e.g. 'CN=Contoso Signing, O=Contoso, C=US'"
        )
    return check_no_control_characters(value)


def check_base64_der(value: str) -> str:
    secret = key_material_kind(value)
    if secret is not None:
        raise _fail(f"holds {secret}, not a certificate: never send a key; send the certificate's DER alone")
    if "-----BEGIN" in value:
        raise _fail("must be the DER bytes in base64, without the PEM '-----BEGIN' armour")
    try:
        der = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _fail("must be standard base64 (A-Z a-z 0-9 + /, padded with =) with no line breaks") from None
    try:
        load_certificate(der)
    except CertificateError as error:
        raise PydanticCustomError(
            "invalid_value", "decodes but is not a certificate: {reason}", {"reason": str(error)}
        ) from None
    return value


def check_connector_id(value: str) -> str:
    if not _CONNECTOR_ID.fullmatch(value):
        raise _fail(
            "must be the connector's name or ID as Power Platform shows it: letters, digits, '_', '.' and "
            f"'-', starting with a letter or digit; got {shown(value)}"
        )
    return value


def check_https_url(value: str) -> str:
    if not _VISIBLE_ASCII.fullmatch(value) or not value.startswith("https://"):
        raise _fail(f"must be an https:// URL of visible ASCII, without spaces; got {shown(value)}")
    return value


def check_traceparent(value: str) -> str:
    if not _TRACEPARENT.fullmatch(value):
        raise _fail("must be a W3C traceparent such as '00-<32 hex>-<16 hex>-01'")
    return value


EnvironmentId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_environment_id)]
Guid = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_guid)]
EventId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(check_visible_ascii)]
Source = Annotated[
    str, Field(min_length=1, max_length=MAX_SOURCE_LENGTH), AfterValidator(check_visible_ascii)
]
Subject = Annotated[
    str, Field(min_length=1, max_length=MAX_SUBJECT_LENGTH), AfterValidator(check_no_control_characters)
]
ReplySession = Annotated[
    str, Field(min_length=1, max_length=MAX_REPLY_SESSION_LENGTH), AfterValidator(check_visible_ascii)
]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]
Sha256Hex = Annotated[str, AfterValidator(check_sha256)]
Sha1Hex = Annotated[str, AfterValidator(check_sha1)]
DotNetName = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(check_dotnet_name)
]
Base64Der = Annotated[
    str, Field(min_length=4, max_length=MAX_DER_BASE64_LENGTH), AfterValidator(check_base64_der)
]
TraceParent = Annotated[str, AfterValidator(check_traceparent)]
# Entra caps FIC values at 600 characters (contracts/graph/entra_federated-credential-configuration-
# considerations.md) and redirect URIs at 256 (contracts/graph/entra_reply-url.restrictions.excerpt.md).
ConnectorId = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(check_connector_id)]
FicIssuer = Annotated[str, Field(min_length=1, max_length=600), AfterValidator(check_https_url)]
FicSubject = Annotated[str, Field(min_length=1, max_length=600), AfterValidator(check_visible_ascii)]
RedirectUrl = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(check_https_url)]
