"""Issuer, subject and audience of a plug-in FIC for format versions 0, 1 and 2 and the five clouds."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from shared.fic._certificates import Signer
from shared.fic._names import common_name

PPMI_APP_ID = "58e835ab-2e39-46a9-b797-accce6633447"
"""The Power Platform managed identity first-party app; never the customer's app or identity."""

MAX_VALUE_LENGTH = 600
FORMAT_VERSIONS = (0, 1, 2)
_FIC_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}", re.ASCII)
_NAME_SAFE_ENVIRONMENT = re.compile(r"[A-Za-z0-9-]{1,64}", re.ASCII)
_ENVIRONMENT_ID = re.compile(
    r"(?:Default-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII
)


class FederatedCredentialError(ValueError):
    """The inputs cannot make a FIC Entra would accept (too long, missing signer facts, unknown format)."""


class Cloud(StrEnum):
    """The Power Platform clouds, named as terraform-provider-power-platform names them (internal/config)."""

    PUBLIC = "public"
    GCC = "gcc"
    GCC_HIGH = "gcchigh"
    DOD = "dod"
    CHINA = "china"


class SubjectEnvironmentSegment(StrEnum):
    """Which ID fills the subject's `e/` segment (UNCONFIRMED: environment ID is the verified default)."""

    ENVIRONMENT_ID = "environment-id"
    ORGANIZATION_ID = "organization-id"


@dataclass(frozen=True)
class _CloudValues:
    audience: str
    issuer_host: str
    subject_prefix: str


# The cloud table of "Set up managed identity for Power Platform" (contracts/dataverse/
# ppadmin_set-up-managed-identity.2025-10-10.md): public and GCC share `c/pub` and the public values; GCC High
# and DoD share `c/usg`; China is `c/chn` with the issuer host `login.partner.microsoftonline.cn`.
_PUBLIC = _CloudValues("api://AzureADTokenExchange", "login.microsoftonline.com", "/eid1/c/pub")
_US_GOVERNMENT = _CloudValues("api://AzureADTokenExchangeUSGov", "login.microsoftonline.us", "/eid1/c/usg")
_CLOUDS: dict[Cloud, _CloudValues] = {
    Cloud.PUBLIC: _PUBLIC,
    Cloud.GCC: _PUBLIC,
    Cloud.GCC_HIGH: _US_GOVERNMENT,
    Cloud.DOD: _US_GOVERNMENT,
    Cloud.CHINA: _CloudValues(
        "api://AzureADTokenExchangeChina", "login.partner.microsoftonline.cn", "/eid1/c/chn"
    ),
}


@dataclass(frozen=True)
class FederatedCredential:
    """The three values Entra compares; exactly one audience."""

    issuer: str
    subject: str
    audience: str

    def __post_init__(self) -> None:
        for label, value in (("issuer", self.issuer), ("subject", self.subject), ("audience", self.audience)):
            if not value:
                raise FederatedCredentialError(f"the FIC {label} is empty")
            if len(value) > MAX_VALUE_LENGTH:
                raise FederatedCredentialError(
                    f"the FIC {label} is {len(value)} characters; Entra accepts at most {MAX_VALUE_LENGTH}"
                )


def encode_guid(value: str | UUID) -> str:
    """Base64URL, unpadded, of the GUID in .NET `Guid.ToByteArray()` (little-endian) order: 22 characters."""
    guid = value if isinstance(value, UUID) else UUID(value)
    return base64.urlsafe_b64encode(guid.bytes_le).rstrip(b"=").decode("ascii")


def _hash_name(rendered_name: str) -> str:
    digest = hashlib.sha256(rendered_name.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def audience_for(cloud: Cloud) -> str:
    return _CLOUDS[cloud].audience


def subject_prefix_for(cloud: Cloud) -> str:
    """`/eid1/c/{pub|usg|chn}`: how every subject Power Platform presents in that cloud begins."""
    return _CLOUDS[cloud].subject_prefix


def issuer_for(tenant_id: str, cloud: Cloud = Cloud.PUBLIC) -> str:
    """The issuer of format versions 1 and 2: the tenant's Entra v2.0 endpoint in that cloud."""
    return f"https://{_CLOUDS[cloud].issuer_host}/{UUID(tenant_id)}/v2.0"


def legacy_issuer(environment_id: str) -> str:
    """Format 0 issuer: hyphens removed, the last two characters split off as their own DNS label."""
    compact = environment_id.replace("-", "").lower()
    if len(compact) < 3 or not compact.isalnum() or not compact.isascii():
        raise FederatedCredentialError(f"{environment_id!r} cannot form a legacy issuer")
    return f"https://{compact[:-2]}.{compact[-2:]}.environment.api.powerplatform.com/sts"


def federated_credential(
    *,
    tenant_id: str,
    environment_id: str,
    signer: Signer,
    format_version: int = 2,
    cloud: Cloud = Cloud.PUBLIC,
    component: str = "pluginassembly",
    organization_id: str | None = None,
    environment_segment: SubjectEnvironmentSegment = SubjectEnvironmentSegment.ENVIRONMENT_ID,
) -> FederatedCredential:
    """The FIC that lets plug-ins signed by `signer` in that environment get tokens."""
    if format_version not in FORMAT_VERSIONS:
        raise FederatedCredentialError(f"format version {format_version} is unknown; use 0, 1 or 2")
    _check_ids(tenant_id, environment_id)
    audience = audience_for(cloud)
    if format_version == 0:
        return _legacy_credential(environment_id, signer, cloud, component, audience)
    segment = _environment_segment(environment_id, organization_id, environment_segment)
    prefix = (
        f"{_CLOUDS[cloud].subject_prefix}/t/{encode_guid(tenant_id)}/a/{encode_guid(PPMI_APP_ID)}"
        f"/n/plugin/e/{segment}"
    )
    return FederatedCredential(
        issuer=issuer_for(tenant_id, cloud),
        subject=prefix + _signer_segments(signer, format_version),
        audience=audience,
    )


def _check_ids(tenant_id: str, environment_id: str) -> None:
    """The subject is compared byte for byte, so IDs must be in the exact form Power Platform uses."""
    try:
        UUID(tenant_id)
    except ValueError:
        raise FederatedCredentialError(f"the tenant ID {tenant_id!r} is not a GUID") from None
    if not _ENVIRONMENT_ID.fullmatch(environment_id):
        raise FederatedCredentialError(
            f"the environment ID {environment_id!r} must be a lowercase GUID or Default-<tenant GUID>"
        )


def _environment_segment(
    environment_id: str, organization_id: str | None, choice: SubjectEnvironmentSegment
) -> str:
    if choice is SubjectEnvironmentSegment.ENVIRONMENT_ID:
        return environment_id
    if not organization_id:
        raise FederatedCredentialError(
            "the subject's e/ segment is set to the Dataverse organization ID, but none was given"
        )
    return str(UUID(organization_id))


def _signer_segments(signer: Signer, format_version: int) -> str:
    if signer.self_signed:
        if signer.sha256_hex is None:
            raise FederatedCredentialError(
                "a self-signed signer needs its SHA-256 hash (or the certificate) for format 1 and 2"
            )
        return f"/h/{signer.sha256_hex}"
    issuer_name = signer.issuer_name or ""
    subject_name = signer.subject_name or ""
    if format_version == 2:
        return f"/i/{_hash_name(issuer_name)}/s/{_hash_name(subject_name)}"
    return f"/i/{_v1_name(issuer_name, 'issuer')}/s/{_v1_name(subject_name, 'subject')}"


def _v1_name(rendered_name: str, label: str) -> str:
    """Format 1 puts the CN itself in the subject, so it cannot carry commas, slashes or non-ASCII."""
    name = common_name(rendered_name)
    if not name:
        raise FederatedCredentialError(f"format 1 needs a CN in the {label} name; use format 2")
    if not name.isascii() or any(character in name for character in ",/"):
        raise FederatedCredentialError(
            f"the {label} CN {name!r} holds a comma, slash or non-ASCII character, which format 1 "
            "cannot carry; use format 2"
        )
    return name


def _legacy_credential(
    environment_id: str, signer: Signer, cloud: Cloud, component: str, audience: str
) -> FederatedCredential:
    if cloud is not Cloud.PUBLIC:  # its issuer host is api.powerplatform.com's
        raise FederatedCredentialError("format 0 (legacy issuer) exists only in the public cloud; use 2")
    if signer.sha1_thumbprint is None:
        raise FederatedCredentialError("format 0 needs the signer's SHA-1 thumbprint (or the certificate)")
    subject = f"component:{component},thumbprint:{signer.sha1_thumbprint},environment:{environment_id}"
    return FederatedCredential(issuer=legacy_issuer(environment_id), subject=subject, audience=audience)


def federated_credential_name(environment_id: str, signer: Signer, *, format_version: int = 2) -> str:
    """A stable FIC name per (environment, signer, format); versions other than 2 get a suffix to coexist."""
    if not _NAME_SAFE_ENVIRONMENT.fullmatch(environment_id):
        raise FederatedCredentialError(f"{environment_id!r} cannot be part of a FIC name")
    suffix = "" if format_version == 2 else f"-v{format_version}"
    name = f"ppmi-{environment_id.lower()}-{signer.key}{suffix}"
    if not _FIC_NAME.fullmatch(name):
        raise FederatedCredentialError(f"the FIC name {name!r} breaks Entra's naming rule")
    return name
