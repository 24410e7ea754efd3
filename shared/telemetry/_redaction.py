"""Secret scrubbing applied before any telemetry sink sees a value: logs, span attributes, log records."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

REDACTED = "[REDACTED]"

# Keys whose values are secret whatever they look like (compared lower-cased, `-` and `_` ignored).
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxyauthorization",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "clientsecret",
        "clientassertion",
        "password",
        "secret",
        "token",
        "sig",
        "sharedaccesskey",
        "sharedaccesssignature",
        "accountkey",
        "xidentityheader",
        "identityheader",
        "privatekey",
        "apikey",
        "ocpapimsubscriptionkey",
    }
)

# Order matters: whole private-key blocks first, then header and key=value shapes, then free-standing tokens.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        "[REDACTED PRIVATE KEY]",
    ),
    (
        re.compile(r"((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n,}]+", re.IGNORECASE),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"([\"']?(?:access_?token|refresh_?token|id_?token|client_?secret|client_?assertion|password)[\"']?"
            r"\s*[:=]\s*[\"']?)[^\"'&\s,}]+",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(r"\b(SharedAccessKey|AccountKey|SharedAccessSignature|sig)=[^;&\s\"']+", re.IGNORECASE),
        rf"\1={REDACTED}",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "[REDACTED JWT]"),
    # Entra client secrets: a short prefix, `Q~`, then 30+ characters of the secret alphabet.
    (re.compile(r"[A-Za-z0-9_.\-]{3,4}Q~[A-Za-z0-9_.~\-]{30,}"), REDACTED),
)


def redact(value: str) -> str:
    """Replace every secret-looking part of *value* so it can be logged or exported safely."""
    for pattern, replacement in _PATTERNS:
        value = pattern.sub(replacement, value)
    return value


def is_secret_key(key: str) -> bool:
    """True when a field named *key* carries a secret whatever its value (headers, token fields)."""
    normalised = key.lower().replace("-", "").replace("_", "").rsplit(".", 1)[-1]
    return normalised in _SECRET_KEYS


def redact_field(key: str, value: Any) -> Any:
    """Redact one named field, recursing into mappings and sequences; non-text scalars pass unchanged."""
    if is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {k: redact_field(str(k), v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [redact_field(key, item) for item in value]
    if isinstance(value, bytes | bytearray):
        return redact(bytes(value).decode("utf-8", "replace"))
    return value
