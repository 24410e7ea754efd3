"""What a recording must not carry: tokens, IDs and names of the tenant it was made in.

One `Redactor` serves a whole recording, so a value gets the same placeholder wherever it appears and the
relations between replies survive (the identity named in a URL is the one in the list). Replaced:
- bearer tokens (any JWT) and the `Authorization` header;
- every GUID but the public ones, with its other spellings: upper case, without hyphens, and the
  Base64URL of its .NET byte order that FIC subjects carry (`t/…`, shared.fic.encode_guid);
- hex strings of 16 characters or more (certificate hashes, signer keys, FIC subject `h/` segments);
- names: resource groups, resource names in ARM IDs, and every value of a naming field in a reply
  (`name`, `displayName`, `domainName`, …), tag values, Dataverse host labels, e-mail addresses;
- the values the caller names as sensitive (the policy's tenant, subscription, resource group, ...).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from shared.fic import PPMI_APP_ID, encode_guid

PUBLIC_IDS = frozenset({"00000000-0000-0000-0000-000000000000", PPMI_APP_ID.lower()})
NAMING_FIELDS = frozenset(
    {"name", "displayname", "domainname", "uniquename", "fullname", "friendlyname", "description", "email"}
)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PATH_NAMES = re.compile(
    r"/(?:resourceGroups|userAssignedIdentities|federatedIdentityCredentials|vaults|applications)/([^/?#\"'\s]+)"
    r"|/providers/(?!Microsoft\.Authorization/)[A-Za-z]+\.[A-Za-z.]+/[A-Za-z]+/([^/?#\"'\s]+)",
    re.IGNORECASE,
)
# Fields holding ARM resource IDs, whose resource group and resource names are names too.
RESOURCE_ID_FIELDS = frozenset({"id", "scope", "nextlink", "principalid", "roledefinitionid"})
MIN_NAME_LENGTH = 3


class Redactor:
    """Learns a recording's sensitive values first (`learn`), then rewrites any text of it (`text`)."""

    def __init__(self, sensitive: Iterable[str] = ()) -> None:
        self._guids: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._hex: dict[str, str] = {}
        for value in sensitive:
            self._note(value)

    def learn(self, text: str, body: Any = None, *, url: bool = False) -> None:
        """Note the GUIDs of one message's `text`, the names in it when it is a `url`, and the naming fields
        and resource IDs of its parsed JSON `body`."""
        for guid in _GUID.findall(text):
            self._guid(guid)
        if url:
            self._path_names(text)
        self._fields(body)

    def _path_names(self, path: str) -> None:
        for match in _PATH_NAMES.finditer(path):
            self.name(match[1] or match[2])

    def text(self, value: str) -> str:
        value = _JWT.sub("REDACTED-TOKEN", value)
        value = _EMAIL.sub("someone@example.invalid", value)
        for name in sorted(self._names, key=len, reverse=True):
            value = re.sub(
                rf"(?<![\w-]){re.escape(name)}(?![\w-])", self._names[name], value, flags=re.IGNORECASE
            )
        value = _GUID.sub(lambda m: self._guid(m[0]), value)
        for guid, placeholder in self._guids.items():
            for original, replaced in _spellings(guid, placeholder):
                value = value.replace(original, replaced)
        return _HEX.sub(lambda m: self._hexadecimal(m[0]), value)

    def _note(self, value: str) -> None:
        if _GUID.fullmatch(value):
            self._guid(value)
        else:
            self.name(value)

    def _fields(self, body: Any) -> None:
        if isinstance(body, Mapping):
            for key, item in body.items():
                if str(key).lower() in NAMING_FIELDS and isinstance(item, str):
                    self.name(item)
                elif str(key).lower() == "tags" and isinstance(item, Mapping):
                    for tag in item.values():
                        self.name(str(tag))
                elif str(key).lower() in ("url", "instanceurl") and isinstance(item, str):
                    self.name(item.split("//", 1)[-1].split(".", 1)[0])
                elif str(key).lower() in RESOURCE_ID_FIELDS and isinstance(item, str):
                    self._path_names(item)
                else:
                    self._fields(item)
        elif isinstance(body, list):
            for item in body:
                self._fields(item)

    def _guid(self, value: str) -> str:
        key = value.lower()
        if key in PUBLIC_IDS:
            return value
        return self._guids.setdefault(key, f"00000000-0000-0000-0000-{len(self._guids) + 1:012d}")

    def name(self, value: str) -> None:
        """Note `value` as a name to replace wherever it appears."""
        value = value.strip()
        if len(value) < MIN_NAME_LENGTH or _GUID.fullmatch(value) or value.lower() in self._names:
            return
        self._names[value.lower()] = f"name-{len(self._names) + 1}"

    def _hexadecimal(self, value: str) -> str:
        significant = value.lstrip("0")
        if not significant or (significant.isdigit() and len(significant) <= len(str(len(self._hex) + 1))):
            return value  # zeros, or a placeholder this redactor wrote
        number = self._hex.setdefault(value.lower(), str(len(self._hex) + 1))
        return number.rjust(len(value), "0")


def _spellings(guid: str, placeholder: str) -> list[tuple[str, str]]:
    """A GUID's other spellings in replies: upper case, without hyphens, and .NET-ordered Base64URL."""
    plain, replaced = guid.replace("-", ""), placeholder.replace("-", "")
    return [
        (guid.upper(), placeholder),
        (plain, replaced),
        (plain.upper(), replaced),
        (encode_guid(uuid.UUID(guid)), encode_guid(uuid.UUID(placeholder))),
    ]
