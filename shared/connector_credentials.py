"""A custom connector's FIC on an app registration: the checks before any write, its name and ownership note.

Entra's rules are documented (contracts/graph/entra_federated-credential-configuration-considerations.md:
issuer, subject and audience at most 600 characters, no wildcard characters in any value; the audience the
cloud's token exchange audience). How Power Platform builds a connector's subject is not
(contracts/MANIFEST.md, Gaps): its opening is the policy's `connectors.subjectPrefix`, UNCONFIRMED.
Redirect URIs follow contracts/graph/entra_reply-url.restrictions.excerpt.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.fic import (
    MAX_VALUE_LENGTH,
    FederatedCredential,
    audience_for,
    encode_guid,
    issuer_for,
    subject_prefix_for,
)
from shared.policy import Policy

WILDCARDS = "*?"
MAX_REDIRECT_URI_LENGTH = 256  # entra_reply-url: "a maximum of 256 characters for each redirect URI"
REDIRECT_URI_FORBIDDEN = "!$'(),;"  # entra_reply-url: "do not support special characters"
NAME_PREFIX = "ppmi-connector-"
NOTE_PREFIX = "ppmi custom connector"
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+", re.ASCII)
_TENANT_SEGMENT = re.compile(r"/t/(?P<tenant>[A-Za-z0-9_-]{22})/")


class ConnectorCredentialError(ValueError):
    """A connector's issuer, subject or redirect URL ppmi will not write; `field` names the event's key."""

    def __init__(self, reason: str, field: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def expected_issuer(policy: Policy) -> str:
    """The policy tenant's Entra v2.0 issuer in the policy's cloud."""
    return issuer_for(policy.tenant_id, policy.cloud)


def subject_prefix(policy: Policy) -> str:
    """How every connector subject of the policy's tenant and cloud begins (UNCONFIRMED, configurable)."""
    return policy.connectors.subject_prefix.replace(
        "{cloudPrefix}", subject_prefix_for(policy.cloud)
    ).replace("{encodedTenantId}", encode_guid(policy.tenant_id))


def check_issuer(policy: Policy, issuer: str) -> None:
    wanted = expected_issuer(policy)
    if issuer == wanted:
        return
    hint = ""
    if issuer.rstrip("/") == wanted.rstrip("/") or issuer.lower() == wanted.lower():
        hint = " (only its spelling differs: Entra compares the issuer exactly)"
    elif policy.tenant_id not in issuer.lower():
        hint = " (another tenant's, or no tenant at all)"
    raise ConnectorCredentialError(
        f"the issuer must be {wanted}, the tenant's v2.0 issuer in the {policy.cloud.value} cloud, as Power "
        f"Platform shows it for a connector of this tenant; got {_shown(issuer)}{hint}",
        "data.issuer",
    )


def check_subject(policy: Policy, subject: str) -> None:
    """Entra's documented limits first, then the policy's prefix, naming the tenant when it is another."""
    field = "data.subject"
    if len(subject) > MAX_VALUE_LENGTH:
        raise ConnectorCredentialError(
            f"the subject is {len(subject)} characters; Entra accepts at most {MAX_VALUE_LENGTH}", field
        )
    if any(character in subject for character in WILDCARDS):
        raise ConnectorCredentialError(
            "the subject holds a wildcard character ('*' or '?'); Entra supports none in a FIC, and a "
            "connector's subject names exactly one connector: copy it from the connector's details",
            field,
        )
    if not _VISIBLE_ASCII.fullmatch(subject):
        raise ConnectorCredentialError(
            "the subject must be visible ASCII without spaces, as Power Platform writes it; copy it again "
            "from the connector's details",
            field,
        )
    foreign = _foreign_tenant(policy, subject)
    if foreign is not None:
        raise ConnectorCredentialError(
            f"the subject belongs to tenant {foreign}, not to the policy's tenant {policy.tenant_id}: a "
            "connector of another tenant may not use this tenant's app registration",
            field,
        )
    prefix = subject_prefix(policy)
    if not subject.startswith(prefix):
        raise ConnectorCredentialError(
            f"the subject must start with {prefix} (connectors.subjectPrefix for the policy's tenant and "
            f"{policy.cloud.value} cloud); got {_shown(subject[: len(prefix) + 8])}…",
            field,
        )
    if len(subject) == len(prefix):
        raise ConnectorCredentialError("the subject names no connector after its prefix", field)


def check_redirect_url(policy: Policy, url: str) -> None:
    field = "data.redirectUrl"
    if len(url) > MAX_REDIRECT_URI_LENGTH:
        raise ConnectorCredentialError(
            f"the redirect URL is {len(url)} characters; Entra accepts at most {MAX_REDIRECT_URI_LENGTH}",
            field,
        )
    if any(
        character in url for character in REDIRECT_URI_FORBIDDEN + WILDCARDS
    ) or not _VISIBLE_ASCII.fullmatch(url):
        raise ConnectorCredentialError(
            "the redirect URL holds a character Entra refuses in redirect URIs (! $ ' ( ) , ; * ? or a "
            "space); copy it again from the connector's details",
            field,
        )
    parts = urlsplit(url)
    hosts = policy.connectors.redirect_hosts
    if parts.scheme != "https" or parts.username or parts.password or parts.port or parts.fragment:
        raise ConnectorCredentialError(
            "the redirect URL must be a plain https URL, without credentials, port or fragment", field
        )
    if (parts.hostname or "") not in hosts:
        raise ConnectorCredentialError(
            f"the redirect URL's host {_shown(parts.hostname or '')} is not one of connectors.redirectHosts "
            f"({', '.join(hosts)}): a redirect URI on the app receives its sign-in codes, so only Power "
            "Platform's may be added",
            field,
        )


def connector_credential(policy: Policy, issuer: str, subject: str) -> FederatedCredential:
    """The FIC values, after every check: the audience is always the cloud's own."""
    check_issuer(policy, issuer)
    check_subject(policy, subject)
    return FederatedCredential(issuer=issuer, subject=subject, audience=audience_for(policy.cloud))


def connector_credential_name(environment_id: str, connector_id: str) -> str:
    """`ppmi-connector-{16 hex}`: one name per connector per environment, whatever the connector is called."""
    key = f"connector/{environment_id.lower()}/{connector_id.lower()}".encode()
    return NAME_PREFIX + hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class ConnectorNote:
    """What ppmi wrote in its FIC's description: whose it is, and whether ppmi added the redirect URI."""

    environment_id: str
    connector_id: str
    redirect_uri: str | None = None
    redirect_added: bool = False

    def render(self) -> str:
        note = f"{NOTE_PREFIX}; environment={self.environment_id}; connector={self.connector_id}"
        if self.redirect_uri is not None:
            note += f"; redirect={self.redirect_uri}; added={'yes' if self.redirect_added else 'no'}"
        return note

    @staticmethod
    def read(description: str | None) -> ConnectorNote | None:
        """The note ppmi wrote, or None when the description is not one (then the FIC is not ppmi's)."""
        if not description or not description.startswith(NOTE_PREFIX + ";"):
            return None
        fields = dict(part.split("=", 1) for part in description.split("; ")[1:] if "=" in part)
        if "environment" not in fields or "connector" not in fields:
            return None
        return ConnectorNote(
            fields["environment"],
            fields["connector"],
            fields.get("redirect"),
            fields.get("added") == "yes",
        )


def _foreign_tenant(policy: Policy, subject: str) -> str | None:
    match = _TENANT_SEGMENT.search(subject)
    if match is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(match["tenant"] + "==")
        tenant = str(uuid.UUID(bytes_le=raw))
    except (binascii.Error, ValueError):
        return None
    return None if tenant == policy.tenant_id else tenant


def _shown(value: str) -> str:
    return repr(value[:120])
